package quorum

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gridkv/gridkv/ring"
	"github.com/gridkv/gridkv/store"
)

// Rebalancing. When the ring changes, every node computes ring.Diff of
// the old and the new ring. For each range it newly replicates, it
// becomes "receiving": after MoveDelay (so the other nodes swap in the new
// ring too) it pulls the range from the old replicas: page by page
// (store.Scan) from the first one that answers, then from each other one
// only the keys whose versions differ from the local ones (a versions
// listing, much smaller than the data). Writes keep arriving
// meanwhile (coordinators with the new ring send them). Until enough old
// replicas were read completely (all but W-1 of them, so that every write
// acknowledged by W old replicas is included), the node completes its
// answers for keys of the range by reading the key from those replicas
// (moveread.go), or, if it cannot, marks them as receiving: such answers
// do not count toward a read quorum, in any mode. So reads during a move
// never return a false not-found, nor a version older than an
// acknowledged write.

type moveJob struct {
	id   uint64
	r    ring.Range
	from []string
	// join: this node was a replica of the range before it lost its data
	// (Config.Join), so a write acknowledged by W replicas may be on only
	// W-1 of the sources.
	join bool
}

type moveSet struct {
	mu   sync.Mutex
	jobs []moveJob
	seq  uint64
	gen  uint64 // incremented whenever a ring change replans the jobs
	// got lists, per job id, the sources already read completely while
	// they were not receiving the job's range: later rounds (retries,
	// and the jobs a ring change carves out of this one) do not read
	// them again.
	got map[uint64][]string
	// bulked lists the sources read whole (bulkPulls), or whose whole
	// read failed, since the node last had no pending job: later rounds
	// ask them range by range (only the keys whose versions differ move),
	// not whole again.
	bulked map[string]bool
	// recv mirrors the jobs' ranges, sorted, for the lock-free check on
	// every read, with the jobs themselves for the reads a receiving
	// replica completes (moveread.go).
	recv atomic.Pointer[recvSet]
	// counting: the node's moveLoop runs (from its start to Close), and
	// the node counts in receivingNodes while it has pending jobs, since
	// the time in since (zero: not counted).
	counting bool
	since    time.Time
	// reads counts the reads being completed from sources now (at most
	// moveReadLimit); proxied, counted and refused count them (tests).
	reads                     atomic.Int32
	proxied, counted, refused atomic.Uint64
}

// recvSet is a published snapshot of the pending jobs: ranges sorted by
// start (they do not overlap), jobs[i] the job of ranges[i].
type recvSet struct {
	ranges []ring.Range
	jobs   []moveJob
	since  time.Time // when the node last went from no job to some; zero: not counted
}

// receiving reports whether key hash h lies in a range this node is still
// pulling.
func (m *moveSet) receiving(h uint64) bool {
	p := m.recv.Load()
	if p == nil {
		return false
	}
	return p.find(h) >= 0
}

// find returns the index of the range holding key hash h, -1 if none.
func (p *recvSet) find(h uint64) int {
	// The last range starting at or before h (the ranges do not overlap).
	i, _ := slices.BinarySearchFunc(p.ranges, h, func(r ring.Range, h uint64) int {
		if r.Start <= h {
			return -1
		}
		return 1
	}) // never found: the comparison never returns 0
	if i == 0 || !p.ranges[i-1].Contains(h) {
		return -1
	}
	return i - 1
}

// overlaps reports whether r (a ring range as store.Range: End 0 is
// 2^64, Start == End is everything) meets a range this node is still
// pulling.
func (m *moveSet) overlaps(r store.Range) bool {
	p := m.recv.Load()
	if p == nil {
		return false
	}
	last := r.End - 1 // End 0 → 2^64-1
	whole := r.Start == r.End
	for _, x := range p.ranges {
		if whole || (x.Start <= last && r.Start <= x.End-1) {
			return true
		}
	}
	return false
}

func (m *moveSet) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.jobs)
}

// publish refreshes recv, and the node's count in receivingNodes; m.mu
// is held.
func (m *moveSet) publish() {
	active := !m.since.IsZero()
	if len(m.jobs) > 0 && !active && m.counting {
		// Counted before the ranges are published: Quick stops serving
		// reads inline first (see proxyGrace).
		m.since = time.Now()
		receivingNodes.Add(1)
	} else if (len(m.jobs) == 0 || !m.counting) && active {
		m.since = time.Time{}
		receivingNodes.Add(-1)
	}
	js := slices.Clone(m.jobs)
	slices.SortFunc(js, func(a, b moveJob) int {
		switch {
		case a.r.Start < b.r.Start:
			return -1
		case a.r.Start > b.r.Start:
			return 1
		}
		return 0
	})
	rs := make([]ring.Range, len(js))
	for i, j := range js {
		rs[i] = j.r
	}
	m.recv.Store(&recvSet{ranges: rs, jobs: js, since: m.since})
}

// setCounting(true) starts counting the node in receivingNodes (its moveLoop
// started), setCounting(false) stops for good (Close).
func (m *moveSet) setCounting(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.counting = on
	m.publish()
}

// planMoves records the ranges this node newly replicates in next. A
// range it was still pulling stays pending for the parts it still
// replicates, with the union of its sources and the previous ring's
// replicas as sources (either may hold writes it has not got); the parts
// it no longer replicates are dropped.
func (n *Node) planMoves(old, next *ringState) {
	changes := ring.Diff(old.r, next.r, n.cfg.N)
	n.moves.mu.Lock()
	var jobs []moveJob
	for _, j := range n.moves.jobs {
		for _, c := range overlapping(next.ranges, j.r) {
			if !slices.Contains(c.To, n.cfg.ID) {
				continue
			}
			p, _ := intersect(j.r, c.Range)
			from := slices.Clone(j.from)
			for _, id := range replicasAt(old.ranges, p.Start) {
				if id != n.cfg.ID && !slices.Contains(from, id) {
					from = append(from, id)
				}
			}
			nj := n.moves.job(p, from)
			nj.join = j.join
			if g := n.moves.got[j.id]; len(g) > 0 {
				n.moves.got[nj.id] = slices.Clone(g)
			}
			jobs = append(jobs, nj)
		}
	}
	for _, c := range changes {
		if slices.Contains(c.To, n.cfg.ID) && !slices.Contains(c.From, n.cfg.ID) {
			jobs = append(jobs, n.moves.job(c.Range, c.From))
		}
	}
	for _, j := range n.moves.jobs {
		delete(n.moves.got, j.id)
	}
	n.moves.jobs = jobs
	n.moves.gen++
	n.moves.publish()
	n.moves.mu.Unlock()
	n.planHandoffs(changes, next, time.Now())
	select {
	case n.ringKick <- struct{}{}:
	default:
	}
}

// job returns a new job with a fresh id; m.mu is held.
func (m *moveSet) job(r ring.Range, from []string) moveJob {
	m.seq++
	if m.got == nil {
		m.got = make(map[uint64][]string)
	}
	return moveJob{id: m.seq, r: r, from: from}
}

// completed returns the sources of job id already read completely.
func (m *moveSet) completed(id uint64) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.got[id])
}

// complete records that job id's source src was read completely, if the
// job is still pending.
func (m *moveSet) complete(id uint64, src string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, j := range m.jobs {
		if j.id == id {
			if !slices.Contains(m.got[id], src) {
				m.got[id] = append(m.got[id], src)
			}
			return
		}
	}
}

// last returns the last hash of r (End 0 stands for 2^64).
func last(r ring.Range) uint64 { return r.End - 1 }

// intersect returns the common part of two ring ranges.
func intersect(a, b ring.Range) (ring.Range, bool) {
	lo, hi := max(a.Start, b.Start), min(last(a), last(b))
	if lo > hi {
		return ring.Range{}, false
	}
	return ring.Range{Start: lo, End: hi + 1}, true
}

// overlapping returns the entries of a range table (sorted, covering the
// space) that meet r.
func overlapping(tab []ring.Change, r ring.Range) []ring.Change {
	i, _ := slices.BinarySearchFunc(tab, r.Start, func(c ring.Change, h uint64) int {
		switch {
		case last(c.Range) < h:
			return -1
		case c.Range.Start > h:
			return 1
		}
		return 0
	})
	j := i
	for j < len(tab) && tab[j].Range.Start <= last(r) {
		j++
		if tab[j-1].Range.End == 0 {
			break
		}
	}
	return tab[i:j]
}

// replicasAt returns the replicas of hash h in a range table.
func replicasAt(tab []ring.Change, h uint64) []string {
	if cs := overlapping(tab, ring.Range{Start: h, End: h + 1}); len(cs) > 0 {
		return cs[0].To
	}
	return nil
}

// planJoin, for Config.Join: every range this node replicates in rs is
// pulled from its other replicas.
func (n *Node) planJoin(rs *ringState) {
	n.moves.mu.Lock()
	for _, c := range rs.ranges {
		if !slices.Contains(c.To, n.cfg.ID) {
			continue
		}
		from := slices.DeleteFunc(slices.Clone(c.To), func(id string) bool { return id == n.cfg.ID })
		if len(from) > 0 {
			j := n.moves.job(c.Range, from)
			j.join = true
			n.moves.jobs = append(n.moves.jobs, j)
		}
	}
	n.moves.publish()
	n.moves.mu.Unlock()
	select {
	case n.ringKick <- struct{}{}:
	default:
	}
}

// moveLoop pulls receiving ranges MoveDelay after a ring change, and
// retries the unfinished ones every HintInterval. After each round it
// starts a handoff round (handoff.go).
func (n *Node) moveLoop() {
	defer n.wg.Done()
	n.moves.setCounting(true)
	defer n.moves.setCounting(false)
	retry := time.NewTicker(min(n.cfg.HintInterval, moveRetry))
	defer retry.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-retry.C:
			if !n.runMoves() {
				continue
			}
		case <-n.ringKick:
			if n.cfg.MoveDelay > 0 {
				select {
				case <-n.ctx.Done():
					return
				case <-time.After(n.cfg.MoveDelay):
				}
			}
			n.runMoves()
		}
		// Hand off what this node no longer replicates, in handoffLoop: a
		// replica that does not answer must not hold up the next pulls.
		select {
		case n.handKick <- struct{}{}:
		default:
		}
	}
}

// runMoves pulls every pending range once and reports whether there was
// any.
func (n *Node) runMoves() bool {
	n.moves.mu.Lock()
	jobs := slices.Clone(n.moves.jobs)
	gen := n.moves.gen
	got := make(map[uint64][]string, len(n.moves.got))
	for id, g := range n.moves.got {
		got[id] = slices.Clone(g)
	}
	n.moves.mu.Unlock()
	if len(jobs) == 0 {
		return false
	}
	bulk := n.bulkPulls(jobs, got)
	// Many ranges at a time: a move of many small ranges would otherwise
	// take a round trip per range and source, one after another. Progress
	// is published as it goes (every finishBatch ranges), not per batch of
	// pullers: one slow range must not hold the others up.
	sem := make(chan struct{}, movePullers)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := make(map[uint64]bool)
	// Sources that failed a request this round are not asked again until
	// the next one: a source that is gone (a member that left and
	// stopped) must not cost a timeout per range.
	var bad sync.Map
	for i, j := range jobs {
		if n.ctx.Err() != nil {
			break
		}
		if i%movePullers == 0 && n.moves.changed(gen) {
			// A ring change replaced the jobs: the next round (MoveDelay
			// after it) runs the new ones.
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if n.runMove(j, got[j.id], bulk, &bad) {
				mu.Lock()
				done[j.id] = true
				if len(done) >= finishBatch {
					n.moves.finish(done)
					clear(done)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	n.moves.finish(done)
	return true
}

// finish removes the completed jobs, by id: if a ring change replaced a
// job meanwhile (other sources), the new one still has to run.
func (m *moveSet) finish(done map[uint64]bool) {
	if len(done) == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.jobs = slices.DeleteFunc(m.jobs, func(x moveJob) bool { return done[x.id] })
	for id := range done {
		delete(m.got, id)
	}
	if len(m.jobs) == 0 {
		clear(m.bulked)
	}
	m.publish()
}

func (m *moveSet) wasBulked(src string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bulked[src]
}

func (m *moveSet) setBulked(src string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bulked == nil {
		m.bulked = make(map[string]bool)
	}
	m.bulked[src] = true
}

// changed reports whether the jobs were replanned since generation gen.
func (m *moveSet) changed(gen uint64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.gen != gen
}

// movePullers is how many ranges a node pulls (or hands off) at once.
const movePullers = 16

// finishBatch is how many completed ranges runMoves gathers before it
// publishes them (each publication sorts the pending ranges).
const finishBatch = 64

// moveRetry bounds how long a node waits before it pulls again the ranges
// a round left unfinished (a source failed or was itself receiving); a
// retry reads only the sources not yet read completely.
const moveRetry = time.Second

// bulkPullMin is the number of pending ranges from one source above which
// the source is read whole (one paged scan of its store) rather than range
// by range. A node that joins, or restarts empty, replicates thousands of
// small ranges (every virtual node of the ring makes some); a round trip
// per range and source would keep it receiving for many seconds even in a
// cluster that holds no data.
const bulkPullMin = 32

// bulkResult is the outcome of reading a source whole.
type bulkResult struct {
	ok        bool // the whole store was read
	receiving bool // the source said it was itself receiving some range
}

// bulkPulls reads whole every source that at least bulkPullMin of jobs
// pull from, and returns the outcome per source. Only the entries of keys
// in ranges this node is receiving are taken. The first source that
// answers is copied (Scan pages of its whole store); the others, in
// parallel, only for the keys whose versions differ (a versions listing).
func (n *Node) bulkPulls(jobs []moveJob, got map[uint64][]string) map[string]bulkResult {
	count := make(map[string]int)
	for _, j := range jobs {
		for _, src := range j.from {
			if !slices.Contains(got[j.id], src) {
				count[src]++
			}
		}
	}
	var srcs []string
	for src, k := range count {
		if k >= bulkPullMin && !n.moves.wasBulked(src) {
			srcs = append(srcs, src)
		}
	}
	slices.Sort(srcs)
	out := make(map[string]bulkResult, len(srcs))
	copied := false
	for len(srcs) > 0 && !copied && n.ctx.Err() == nil {
		src := srcs[0]
		srcs = srcs[1:]
		receiving, err := n.pull(n.ctx, src, store.Range{}, true)
		if err != nil {
			n.cfg.Logger.Debug("quorum: pull failed", "from", src, "err", err)
		}
		out[src] = bulkResult{ok: err == nil, receiving: receiving}
		copied = err == nil
		n.moves.setBulked(src)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, src := range srcs {
		wg.Go(func() {
			receiving, err := n.syncRangeKeep(n.ctx, src, store.Range{}, 0, true, n.moves.receiving)
			if err != nil {
				n.cfg.Logger.Debug("quorum: pull failed", "from", src, "err", err)
			}
			mu.Lock()
			out[src] = bulkResult{ok: err == nil, receiving: receiving}
			mu.Unlock()
			n.moves.setBulked(src)
		})
	}
	wg.Wait()
	return out
}

// sourcesNeeded is how many of j's sources a range (or a key of it) must
// have been read from completely to hold every acknowledged write: every
// write acknowledged by W old replicas is on at least one of any
// len(from)-W+1 of them. A joining node lost its own copy: it counts as
// a source that failed.
func (n *Node) sourcesNeeded(j moveJob) int {
	k := len(j.from)
	if j.join {
		k++
	}
	return min(k-min(n.cfg.W, k)+1, len(j.from))
}

// runMove pulls one range and reports whether it is complete. Sources in
// got were read completely in an earlier round and are not read again.
// Sources in bulk were read whole already: their outcome is taken from
// there, except that a source that said it was receiving some range is
// asked about this range (only the keys whose versions differ move).
func (n *Node) runMove(j moveJob, got []string, bulk map[string]bulkResult, bad *sync.Map) bool {
	// A source that is itself receiving the range (it restarted empty, or
	// joined too) does not count; but when every source answered, nobody
	// holds more than what was pulled (a fresh cluster whose nodes all
	// start with Join, for example).
	need := n.sourcesNeeded(j)
	complete, answered := 0, 0
	for _, src := range j.from {
		if slices.Contains(got, src) {
			complete++
			answered++
		}
	}
	for _, src := range j.from {
		if complete >= need {
			break
		}
		if slices.Contains(got, src) {
			continue
		}
		if _, failed := bad.Load(src); failed {
			continue
		}
		// The first complete source is copied whole (Scan pages); the
		// others only for the keys whose versions differ.
		var receiving bool
		var err error
		b, inBulk := bulk[src]
		switch {
		case inBulk && b.ok && !b.receiving:
			// Read whole already, and it was receiving no range.
		case !inBulk && complete == 0 && !n.moves.wasBulked(src):
			receiving, err = n.pull(n.ctx, src, toStore(j.r), false)
		default:
			// Only the keys whose versions differ. For a source read
			// whole: if that read failed (a page timed out under load,
			// say), this range alone, a smaller request, kept when it
			// completes (later rounds go on range by range); if the
			// source receives some range, maybe not this one (a
			// whole-store read cannot tell), its entries are here already.
			receiving, err = n.syncRange(n.ctx, src, toStore(j.r), 0, true)
		}
		if err != nil {
			n.cfg.Logger.Debug("quorum: range pull failed", "from", src, "range", j.r, "err", err)
			bad.Store(src, true)
			continue
		}
		answered++
		if !receiving {
			complete++
			n.moves.complete(j.id, src)
		}
	}
	return complete >= need || answered == len(j.from)
}

// pull copies range rg from peer src into the local store and reports
// whether src said it was itself still receiving the range. With
// onlyReceiving, entries of keys outside the ranges this node is receiving
// are skipped (a source read whole holds keys this node does not replicate).
func (n *Node) pull(ctx context.Context, src string, rg store.Range, onlyReceiving bool) (receiving bool, err error) {
	var c store.Cursor
	for !c.Done {
		b, err := n.call(ctx, src, encodeScan(nil, rg, c, 512))
		if err != nil {
			return false, err
		}
		sr, err := decodeScanReply(b)
		if err != nil {
			return false, err
		}
		receiving = receiving || sr.receiving
		moved := 0
		for _, e := range sr.es {
			if onlyReceiving && !n.moves.receiving(store.KeyHash(e.Key)) {
				continue
			}
			if _, err := n.applyRemote(e); err != nil {
				return false, err
			}
			moved++
		}
		n.st8.moved.Add(uint64(moved))
		if !sr.next.Done && sr.next == c {
			return false, fmt.Errorf("quorum: scan of %v on %s made no progress", rg, src)
		}
		c = sr.next
	}
	return receiving, nil
}
