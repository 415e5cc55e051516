package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"math"
	"net"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gridkv/gridkv/gridkv"
	"github.com/tidwall/redcon"
)

// Writer receives the replies of commands. redcon.Conn and *redcon.Writer
// implement it.
type Writer interface {
	WriteString(s string)
	WriteError(msg string)
	WriteBulk(b []byte)
	WriteBulkString(s string)
	WriteInt64(n int64)
	WriteArray(n int)
	WriteNull()
}

// Session is the state of one client connection. It is used by one
// goroutine at a time.
type Session struct {
	authed bool
	// Quit is set once the client sent QUIT: the connection must be
	// closed after the reply is flushed.
	Quit bool
	name string
	cx   *cmdCtx // the context of its commands, re-armed for each
}

// RESP serves the Redis protocol on top of a KV.
type RESP struct {
	kv  KV
	cfg Config

	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	srv    *redcon.Server
	lns    []net.Listener
	closed bool
	conns  sync.WaitGroup
	nconns atomic.Int64
}

// NewRESP returns a Redis protocol server for kv.
func NewRESP(kv KV, cfg Config) *RESP {
	ctx, cancel := context.WithCancel(context.Background())
	return &RESP{kv: kv, cfg: cfg.withDefaults(), ctx: ctx, cancel: cancel}
}

// NewSession returns the state of a new connection.
func (r *RESP) NewSession() *Session {
	return &Session{authed: r.cfg.Password == ""}
}

// Serve accepts connections on ln until Close, and returns nil after
// Close. Call it once per RESP.
func (r *RESP) Serve(ln net.Listener) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		ln.Close()
		return nil
	}
	srv := redcon.NewServer(ln.Addr().String(), r.serveConn, r.accept, r.connClosed)
	r.srv = srv
	r.lns = append(r.lns, ln)
	r.mu.Unlock()
	return srv.Serve(&limitListener{
		Listener: ln,
		max:      int64(r.cfg.MaxRequestBytes),
		wait:     r.cfg.CommandTimeout + time.Second,
		idle:     r.cfg.IdleTimeout,
	})
}

func (r *RESP) accept(c redcon.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	if r.nconns.Load() >= int64(r.cfg.MaxConnections) {
		// redcon flushes this before closing the connection.
		c.WriteError("ERR max number of clients reached")
		return false
	}
	r.conns.Add(1)
	r.nconns.Add(1)
	c.SetContext(r.NewSession())
	return true
}

func (r *RESP) connClosed(c redcon.Conn, err error) {
	if err != nil && !errors.Is(err, net.ErrClosed) {
		r.cfg.Logger.Debug("gridkv: resp connection closed", "remote", c.RemoteAddr(), "err", err)
	}
	r.nconns.Add(-1)
	r.conns.Done()
}

// Close stops accepting, lets every command in progress finish and
// flush its reply (each bounded by CommandTimeout), closes every
// connection and waits for the connections' goroutines. It drains: a
// client sees its last command answered, then the connection close.
func (r *RESP) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	srv, lns := r.srv, r.lns
	r.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
	for _, ln := range lns {
		ln.Close() // in case redcon had not registered it yet
	}
	r.conns.Wait()
	r.cancel()
	return nil
}

func (r *RESP) serveConn(c redcon.Conn, cmd redcon.Command) {
	sess, _ := c.Context().(*Session)
	if sess == nil {
		sess = r.NewSession()
		c.SetContext(sess)
	}
	if sess.Quit {
		// redcon runs the rest of a pipeline read with QUIT: drop it,
		// as Redis does.
		return
	}
	lc, _ := c.NetConn().(*limitConn)
	if lc != nil {
		lc.begin()
	}
	r.execSafe(sess, c, cmd.Args)
	if lc != nil {
		if lc.closing.Load() {
			// Close is waiting for this command: flush its reply now, as
			// redcon flushes only after the whole pipeline.
			_ = redcon.BaseWriter(c).Flush()
		}
		lc.end()
	}
	if sess.Quit {
		c.Close() // flushes the reply
	}
}

// execSafe runs Exec and turns a panic into an error reply and the close
// of this connection only. redcon has no hook to recover a panic in its
// own connection goroutine (its parser); the framer keeps the inputs
// known to make it panic away from it.
func (r *RESP) execSafe(sess *Session, c redcon.Conn, args [][]byte) {
	defer func() {
		if v := recover(); v != nil {
			r.cfg.Logger.Error("gridkv: panic in a RESP command; closing the connection", "remote", c.RemoteAddr(), "panic", v, "stack", string(debug.Stack()))
			if w := redcon.BaseWriter(c); w != nil {
				w.SetBuffer(nil) // may end in a partial reply
			}
			c.WriteError("ERR internal error")
			sess.Quit = true
		}
	}()
	r.Exec(sess, c, args)
}

// Exec runs one command (its name and arguments) for a session and writes
// its reply to w. It never panics on any input and always writes exactly
// one reply.
func (r *RESP) Exec(sess *Session, w Writer, args [][]byte) {
	if len(args) == 0 {
		w.WriteError("ERR empty command")
		return
	}
	// Lower case the name into a stack buffer: the lookup then allocates
	// nothing. A name longer than any command finds none.
	var buf [16]byte
	name := buf[:0]
	if len(args[0]) <= len(buf) {
		for _, c := range args[0] {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			name = append(name, c)
		}
	}
	spec, ok := commands[string(name)]
	if !ok {
		w.WriteError(fmt.Sprintf("ERR unknown command '%s', with args beginning with: %s", clip(args[0]), argsPreview(args[1:])))
		return
	}
	if len(args) < spec.min || (spec.max >= 0 && len(args) > spec.max) || (spec.pairs && (len(args)-1)%2 != 0) {
		w.WriteError(fmt.Sprintf("ERR wrong number of arguments for '%s' command", string(name)))
		return
	}
	if !sess.authed && !spec.noAuth {
		w.WriteError("NOAUTH Authentication required.")
		return
	}
	ctx := sess.beginCommand(r.ctx, r.cfg.CommandTimeout)
	defer sess.endCommand()
	spec.fn(r, ctx, sess, w, args)
}

type command struct {
	min, max int  // arity including the name; max -1: unbounded
	pairs    bool // arguments after the name come in pairs
	noAuth   bool // allowed before AUTH
	fn       func(r *RESP, ctx context.Context, sess *Session, w Writer, args [][]byte)
}

// numCommands is len(commands), for COMMAND COUNT (a test checks it).
const numCommands = 22

// commands is the command table; read-only after package initialisation
// (a composite literal, no init function).
var commands = map[string]command{
	"ping":    {min: 1, max: 2, fn: (*RESP).ping},
	"echo":    {min: 2, max: 2, fn: (*RESP).echo},
	"hello":   {min: 1, max: -1, noAuth: true, fn: (*RESP).hello},
	"auth":    {min: 2, max: 3, noAuth: true, fn: (*RESP).auth},
	"quit":    {min: 1, max: 1, noAuth: true, fn: (*RESP).quit},
	"select":  {min: 2, max: 2, fn: (*RESP).selectDB},
	"client":  {min: 2, max: -1, fn: (*RESP).client},
	"command": {min: 1, max: -1, fn: (*RESP).command},
	"get":     {min: 2, max: 2, fn: (*RESP).get},
	"set":     {min: 3, max: -1, fn: (*RESP).set},
	"del":     {min: 2, max: -1, fn: (*RESP).del},
	"unlink":  {min: 2, max: -1, fn: (*RESP).del},
	"exists":  {min: 2, max: -1, fn: (*RESP).exists},
	"mget":    {min: 2, max: -1, fn: (*RESP).mget},
	"mset":    {min: 3, max: -1, pairs: true, fn: (*RESP).mset},
	"expire":  {min: 3, max: 3, fn: (*RESP).expire},
	"pexpire": {min: 3, max: 3, fn: (*RESP).expire},
	"ttl":     {min: 2, max: 2, fn: (*RESP).ttl},
	"pttl":    {min: 2, max: 2, fn: (*RESP).ttl},
	"scan":    {min: 2, max: -1, fn: (*RESP).scan},
	"dbsize":  {min: 1, max: 1, fn: (*RESP).dbsize},
	"info":    {min: 1, max: -1, fn: (*RESP).info},
}

// clip shortens a client's argument for an error message and keeps it
// on one line.
func clip(b []byte) string {
	if len(b) > 64 {
		b = b[:64]
	}
	return oneLine(strings.ToValidUTF8(string(b), "?"))
}

func argsPreview(args [][]byte) string {
	var sb strings.Builder
	for i, a := range args {
		if i == 4 {
			break
		}
		sb.WriteString("'" + clip(a) + "' ")
	}
	return sb.String()
}

// writeErr writes the reply for an error from the KV.
func writeErr(w Writer, err error) {
	switch {
	case errors.Is(err, gridkv.ErrKeyTooLarge):
		w.WriteError("ERR key too large")
	case errors.Is(err, gridkv.ErrValueTooLarge):
		w.WriteError("ERR value too large")
	case errors.Is(err, gridkv.ErrQuorumNotMet):
		w.WriteError("TRYAGAIN " + oneLine(err.Error()))
	case errors.Is(err, gridkv.ErrClosed), errors.Is(err, context.Canceled):
		w.WriteError("ERR server shutting down")
	case errors.Is(err, context.DeadlineExceeded):
		w.WriteError("TRYAGAIN command timed out")
	default:
		w.WriteError("ERR " + oneLine(err.Error()))
	}
}

// oneLine keeps an error message from breaking the RESP framing.
func oneLine(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}

func (r *RESP) ping(_ context.Context, _ *Session, w Writer, args [][]byte) {
	if len(args) == 2 {
		w.WriteBulk(args[1])
		return
	}
	w.WriteString("PONG")
}

func (r *RESP) echo(_ context.Context, _ *Session, w Writer, args [][]byte) {
	w.WriteBulk(args[1])
}

// hello answers in RESP2 only: any version but 2 is refused with
// Redis's own "-NOPROTO unsupported protocol version", before the
// options are looked at, so clients fall back to RESP2 (go-redis v9 then
// authenticates with AUTH, as with a Redis that has no RESP3). HELLO 2
// takes AUTH username password (the username must be "default", the one
// user; with no password configured any password is accepted, as Redis's
// nopass default user does) and SETNAME name.
func (r *RESP) hello(_ context.Context, sess *Session, w Writer, args [][]byte) {
	i := 1
	if len(args) > 1 {
		v, err := strconv.Atoi(string(args[1]))
		if err != nil {
			w.WriteError("ERR Protocol version is not an integer or out of range")
			return
		}
		if v != 2 {
			w.WriteError("NOPROTO unsupported protocol version")
			return
		}
		i = 2
	}
	for ; i < len(args); i++ {
		switch strings.ToLower(string(args[i])) {
		case "auth":
			if i+2 >= len(args) {
				w.WriteError("ERR Syntax error in HELLO option 'auth'")
				return
			}
			if !r.checkUser(args[i+1], args[i+2]) {
				w.WriteError("WRONGPASS invalid username-password pair or user is disabled.")
				return
			}
			sess.authed = true
			i += 2
		case "setname":
			if i+1 >= len(args) {
				w.WriteError("ERR Syntax error in HELLO option 'setname'")
				return
			}
			sess.name = string(args[i+1])
			i++
		default:
			w.WriteError(fmt.Sprintf("ERR Syntax error in HELLO option '%s'", clip(args[i])))
			return
		}
	}
	if !sess.authed {
		w.WriteError("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
		return
	}
	w.WriteArray(14)
	w.WriteBulkString("server")
	w.WriteBulkString("gridkv")
	w.WriteBulkString("version")
	w.WriteBulkString("7.0.0")
	w.WriteBulkString("proto")
	w.WriteInt64(2)
	w.WriteBulkString("id")
	w.WriteInt64(0)
	w.WriteBulkString("mode")
	w.WriteBulkString("standalone")
	w.WriteBulkString("role")
	w.WriteBulkString("master")
	w.WriteBulkString("modules")
	w.WriteArray(0)
}

func (r *RESP) checkPassword(p []byte) bool {
	return r.cfg.Password != "" && subtle.ConstantTimeCompare(p, []byte(r.cfg.Password)) == 1
}

// checkUser checks the username and password of AUTH user pass and
// HELLO ... AUTH: "default" is the only user; with no password
// configured it takes any password, as Redis's nopass default user.
func (r *RESP) checkUser(user, pass []byte) bool {
	if string(user) != "default" {
		return false
	}
	return r.cfg.Password == "" || r.checkPassword(pass)
}

func (r *RESP) auth(_ context.Context, sess *Session, w Writer, args [][]byte) {
	if len(args) == 3 {
		if !r.checkUser(args[1], args[2]) {
			w.WriteError("WRONGPASS invalid username-password pair or user is disabled.")
			return
		}
		sess.authed = true
		w.WriteString("OK")
		return
	}
	if r.cfg.Password == "" {
		w.WriteError("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
		return
	}
	if !r.checkPassword(args[1]) {
		w.WriteError("WRONGPASS invalid username-password pair or user is disabled.")
		return
	}
	sess.authed = true
	w.WriteString("OK")
}

func (r *RESP) quit(_ context.Context, sess *Session, w Writer, _ [][]byte) {
	sess.Quit = true
	w.WriteString("OK")
}

func (r *RESP) selectDB(_ context.Context, _ *Session, w Writer, args [][]byte) {
	if string(args[1]) != "0" {
		w.WriteError("ERR DB index is out of range")
		return
	}
	w.WriteString("OK")
}

func (r *RESP) client(_ context.Context, sess *Session, w Writer, args [][]byte) {
	switch strings.ToLower(string(args[1])) {
	case "setname":
		if len(args) != 3 {
			w.WriteError("ERR wrong number of arguments for 'client|setname' command")
			return
		}
		sess.name = string(args[2])
		w.WriteString("OK")
	case "getname":
		if sess.name == "" {
			w.WriteNull()
			return
		}
		w.WriteBulkString(sess.name)
	case "setinfo":
		w.WriteString("OK")
	case "id":
		w.WriteInt64(0)
	default:
		w.WriteError(fmt.Sprintf("ERR unknown subcommand '%s'. Try CLIENT HELP.", clip(args[1])))
	}
}

// command answers COMMAND, COMMAND COUNT and COMMAND DOCS with as little
// as redis-cli needs: no command documentation.
func (r *RESP) command(_ context.Context, _ *Session, w Writer, args [][]byte) {
	if len(args) > 1 && strings.EqualFold(string(args[1]), "count") {
		w.WriteInt64(numCommands)
		return
	}
	w.WriteArray(0)
}

func (r *RESP) get(ctx context.Context, _ *Session, w Writer, args [][]byte) {
	it, err := r.kv.GetItem(ctx, string(args[1]))
	switch {
	case errors.Is(err, gridkv.ErrNotFound):
		w.WriteNull()
	case err != nil:
		writeErr(w, err)
	default:
		w.WriteBulk(it.Value)
	}
}

// set implements SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL].
//
// NX, XX, GET and KEEPTTL read the key (a quorum read) and then write it:
// two operations, not one, so a write of the same key by another client
// between them goes unnoticed. Concretely:
//   - two concurrent SET NX of a missing key can both reply OK; the key
//     then holds one of the two values (last write wins), so NX is no lock;
//   - SET XX can recreate a key deleted (or expired) after its read;
//   - SET ... GET can return a value older than the one it replaced;
//   - KEEPTTL keeps the TTL the key had at the read, possibly that of a
//     value since replaced.
func (r *RESP) set(ctx context.Context, _ *Session, w Writer, args [][]byte) {
	var nx, xx, get, keepTTL, expSet bool
	var ttl time.Duration
	for i := 3; i < len(args); i++ {
		opt := strings.ToLower(string(args[i]))
		switch opt {
		case "nx":
			nx = true
		case "xx":
			xx = true
		case "get":
			get = true
		case "keepttl":
			keepTTL = true
		case "ex", "px", "exat", "pxat":
			if expSet || i+1 >= len(args) {
				w.WriteError("ERR syntax error")
				return
			}
			n, err := strconv.ParseInt(string(args[i+1]), 10, 64)
			if err != nil {
				w.WriteError("ERR value is not an integer or out of range")
				return
			}
			d, ok := expiry(opt, n)
			if !ok {
				w.WriteError("ERR invalid expire time in 'set' command")
				return
			}
			ttl, expSet = d, true
			i++
		default:
			w.WriteError("ERR syntax error")
			return
		}
	}
	if (nx && xx) || (keepTTL && expSet) {
		w.WriteError("ERR syntax error")
		return
	}
	key := string(args[1])
	var old gridkv.Item
	exists := false
	if nx || xx || get || keepTTL {
		it, err := r.kv.GetItem(ctx, key)
		switch {
		case errors.Is(err, gridkv.ErrNotFound):
		case err != nil:
			writeErr(w, err)
			return
		default:
			old, exists = it, true
		}
	}
	if (nx && exists) || (xx && !exists) {
		if get && exists {
			w.WriteBulk(old.Value)
		} else {
			w.WriteNull()
		}
		return
	}
	if keepTTL && exists && !old.ExpiresAt.IsZero() {
		ttl = old.TTL()
	}
	var opts []gridkv.Option
	if ttl > 0 {
		opts = append(opts, gridkv.WithTTL(ttl))
	}
	if err := r.kv.Set(ctx, key, args[2], opts...); err != nil {
		writeErr(w, err)
		return
	}
	switch {
	case get && exists:
		w.WriteBulk(old.Value)
	case get:
		w.WriteNull()
	default:
		w.WriteString("OK")
	}
}

// expiry converts a SET expiry option to a TTL; ok is false for times
// Redis refuses (not positive, or overflowing).
func expiry(opt string, n int64) (time.Duration, bool) {
	if n <= 0 {
		return 0, false
	}
	const maxMS = math.MaxInt64 / int64(time.Millisecond)
	switch opt {
	case "ex":
		if n > maxMS/1000 {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	case "px":
		if n > maxMS {
			return 0, false
		}
		return time.Duration(n) * time.Millisecond, true
	case "exat":
		if n > maxMS/1000 {
			return 0, false
		}
		return max(time.Until(time.Unix(n, 0)), time.Millisecond), true
	default: // pxat
		return max(time.Until(time.UnixMilli(n)), time.Millisecond), true
	}
}

// del implements DEL and UNLINK. The count it replies is of the keys an
// existence check found before each delete: a concurrent write or delete
// of a key between the two can make it off by that key.
func (r *RESP) del(ctx context.Context, _ *Session, w Writer, args [][]byte) {
	var n int64
	for _, k := range args[1:] {
		key := string(k)
		ok, err := r.kv.Exists(ctx, key)
		if err != nil {
			writeErr(w, err)
			return
		}
		if err := r.kv.Delete(ctx, key); err != nil {
			writeErr(w, err)
			return
		}
		if ok {
			n++
		}
	}
	w.WriteInt64(n)
}

func (r *RESP) exists(ctx context.Context, _ *Session, w Writer, args [][]byte) {
	var n int64
	for _, k := range args[1:] {
		ok, err := r.kv.Exists(ctx, string(k))
		if err != nil {
			writeErr(w, err)
			return
		}
		if ok {
			n++
		}
	}
	w.WriteInt64(n)
}

func (r *RESP) mget(ctx context.Context, _ *Session, w Writer, args [][]byte) {
	keys := make([]string, len(args)-1)
	for i, k := range args[1:] {
		keys[i] = string(k)
	}
	vals, err := r.kv.MGet(ctx, keys)
	if err != nil {
		writeErr(w, err)
		return
	}
	w.WriteArray(len(vals))
	for _, v := range vals {
		if v == nil {
			w.WriteNull()
		} else {
			w.WriteBulk(v)
		}
	}
}

func (r *RESP) mset(ctx context.Context, _ *Session, w Writer, args [][]byte) {
	kvs := make([]gridkv.KV, 0, (len(args)-1)/2)
	for i := 1; i+1 < len(args); i += 2 {
		kvs = append(kvs, gridkv.KV{Key: string(args[i]), Value: args[i+1]})
	}
	if err := r.kv.MSet(ctx, kvs); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteString("OK")
}

// expire implements EXPIRE and PEXPIRE by reading the value and writing
// it back with the new TTL (a delete for a TTL <= 0): two operations, not
// one. A write of the key by another client between them is overwritten
// by the value read (a lost update), and a key deleted or expired between
// them comes back with the new TTL.
func (r *RESP) expire(ctx context.Context, _ *Session, w Writer, args [][]byte) {
	n, err := strconv.ParseInt(string(args[2]), 10, 64)
	if err != nil {
		w.WriteError("ERR value is not an integer or out of range")
		return
	}
	unit := time.Second
	if strings.EqualFold(string(args[0]), "pexpire") {
		unit = time.Millisecond
	}
	if n > 0 && n > math.MaxInt64/int64(unit) {
		w.WriteError(fmt.Sprintf("ERR invalid expire time in '%s' command", strings.ToLower(string(args[0]))))
		return
	}
	key := string(args[1])
	it, err := r.kv.GetItem(ctx, key)
	switch {
	case errors.Is(err, gridkv.ErrNotFound):
		w.WriteInt64(0)
		return
	case err != nil:
		writeErr(w, err)
		return
	}
	if n <= 0 {
		err = r.kv.Delete(ctx, key)
	} else {
		err = r.kv.Set(ctx, key, it.Value, gridkv.WithTTL(time.Duration(n)*unit))
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	w.WriteInt64(1)
}

func (r *RESP) ttl(ctx context.Context, _ *Session, w Writer, args [][]byte) {
	it, err := r.kv.GetItem(ctx, string(args[1]))
	switch {
	case errors.Is(err, gridkv.ErrNotFound):
		w.WriteInt64(-2)
		return
	case err != nil:
		writeErr(w, err)
		return
	case it.ExpiresAt.IsZero():
		w.WriteInt64(-1)
		return
	}
	ms := max(time.Until(it.ExpiresAt).Milliseconds(), 0)
	if strings.EqualFold(string(args[0]), "pttl") {
		w.WriteInt64(ms)
		return
	}
	w.WriteInt64((ms + 500) / 1000)
}

// scan implements SCAN cursor [MATCH pattern] [COUNT n] [TYPE string].
func (r *RESP) scan(ctx context.Context, _ *Session, w Writer, args [][]byte) {
	cursor, err := strconv.ParseUint(string(args[1]), 10, 64)
	if err != nil {
		w.WriteError("ERR invalid cursor")
		return
	}
	match, count, typ := "*", 10, ""
	for i := 2; i < len(args); i += 2 {
		if i+1 >= len(args) {
			w.WriteError("ERR syntax error")
			return
		}
		switch strings.ToLower(string(args[i])) {
		case "match":
			match = string(args[i+1])
		case "count":
			n, err := strconv.Atoi(string(args[i+1]))
			if err != nil {
				w.WriteError("ERR value is not an integer or out of range")
				return
			}
			if n < 1 {
				w.WriteError("ERR syntax error")
				return
			}
			count = min(n, 100000)
		case "type":
			typ = strings.ToLower(string(args[i+1]))
		default:
			w.WriteError("ERR syntax error")
			return
		}
	}
	var keys []string
	next := uint64(0)
	if typ == "" || typ == "string" {
		keys, next, err = r.kv.Scan(ctx, cursor, match, count)
		if err != nil {
			writeErr(w, err)
			return
		}
	}
	w.WriteArray(2)
	w.WriteBulkString(strconv.FormatUint(next, 10))
	w.WriteArray(len(keys))
	for _, k := range keys {
		w.WriteBulkString(k)
	}
}

func (r *RESP) dbsize(ctx context.Context, _ *Session, w Writer, _ [][]byte) {
	n, err := r.kv.Count(ctx)
	if err != nil {
		writeErr(w, err)
		return
	}
	w.WriteInt64(n)
}

func (r *RESP) info(_ context.Context, _ *Session, w Writer, _ [][]byte) {
	st := r.kv.Stats()
	var b strings.Builder
	fmt.Fprintf(&b, "# Server\r\nredis_version:7.0.0\r\ngridkv_node:%s\r\ngo_version:%s\r\narch_bits:64\r\n", st.NodeID, runtime.Version())
	fmt.Fprintf(&b, "\r\n# Clients\r\nconnected_clients:%d\r\n", r.nconns.Load())
	fmt.Fprintf(&b, "\r\n# Memory\r\nused_memory:%d\r\nmaxmemory:%d\r\nevicted_keys:%d\r\n", st.Bytes, st.MaxBytes, st.Evictions)
	fmt.Fprintf(&b, "\r\n# Cluster\r\ncluster_enabled:0\r\ngridkv_members:%d\r\ngridkv_alive_members:%d\r\ngridkv_replicas:%d\r\ngridkv_write_quorum:%d\r\ngridkv_read_quorum:%d\r\ngridkv_hints_pending:%d\r\n",
		st.Members, st.AliveMembers, st.ReplicaCount, st.WriteQuorum, st.ReadQuorum, st.HintsPending)
	fmt.Fprintf(&b, "\r\n# Keyspace\r\ndb0:keys=%d,expires=0,avg_ttl=0\r\n", st.Keys)
	w.WriteBulkString(b.String())
}

// limitListener wraps accepted connections in limitConn.
type limitListener struct {
	net.Listener
	max  int64
	wait time.Duration
	idle time.Duration
}

func (l *limitListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	lc := &limitConn{Conn: c, max: l.max, wait: l.wait, idle: l.idle}
	lc.req = requestReader{read: lc.readRaw, f: newFramer(int(l.max))}
	return lc, nil
}

// limitConn guards what redcon reads from a client. Its requestReader
// refuses bytes that do not frame as requests within the bounds (see
// framer), answering "-ERR Protocol error: ..." before the connection
// closes. It closes a connection that sends more than max bytes without
// the server completing a command: redcon buffers whatever a client
// sends until a command is complete, so this bounds its memory per
// connection. It closes a connection idle for longer than idle, if set.
// It also lets Close wait for the command in progress (see RESP.Close).
type limitConn struct {
	net.Conn
	max     int64
	wait    time.Duration
	idle    time.Duration
	req     requestReader
	replied bool // the protocol error was sent; only redcon's goroutine reads
	read    atomic.Int64
	mu      sync.Mutex
	busy    bool
	idleCh  chan struct{} // closed when a command ends while closing
	closing atomic.Bool
}

var errRequestTooLarge = errors.New("server: request too large")

// Read is called by redcon's connection goroutine only, after it has
// flushed the replies to every command it has read: the protocol error
// reply written here comes after them.
func (c *limitConn) Read(p []byte) (int, error) {
	n, err := c.req.Read(p)
	var pe *protocolError
	if err != nil && !c.replied && errors.As(err, &pe) {
		c.replied = true
		_ = c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = c.Conn.Write([]byte("-ERR " + pe.Error() + "\r\n"))
	}
	return n, err
}

// readRaw reads from the network for the requestReader.
func (c *limitConn) readRaw(p []byte) (int, error) {
	if c.read.Load() > c.max {
		return 0, errRequestTooLarge
	}
	if c.idle > 0 {
		_ = c.Conn.SetReadDeadline(time.Now().Add(c.idle))
	}
	if room := c.max + 1 - c.read.Load(); int64(len(p)) > room {
		p = p[:room] // the requestReader fills p: do not overshoot
	}
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// begin marks a command in progress and resets the unparsed-bytes count.
func (c *limitConn) begin() {
	c.read.Store(0)
	c.mu.Lock()
	c.busy = true
	c.mu.Unlock()
}

func (c *limitConn) end() {
	c.mu.Lock()
	c.busy = false
	if c.idleCh != nil {
		close(c.idleCh)
		c.idleCh = nil
	}
	c.mu.Unlock()
}

// Close waits (at most c.wait) for the command in progress to end and
// flush its reply, then closes the connection.
func (c *limitConn) Close() error {
	c.closing.Store(true)
	c.mu.Lock()
	var idle chan struct{}
	if c.busy {
		if c.idleCh == nil {
			c.idleCh = make(chan struct{})
		}
		idle = c.idleCh
	}
	c.mu.Unlock()
	if idle != nil {
		t := time.NewTimer(c.wait)
		select {
		case <-idle:
		case <-t.C:
		}
		t.Stop()
	}
	return c.Conn.Close()
}
