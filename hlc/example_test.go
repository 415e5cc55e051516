package hlc_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gridkv/gridkv/hlc"
)

// Two nodes exchange a write. Node b's wall clock is 40 ms behind node a's,
// yet the version b stamps after hearing from a is above a's.
func Example() {
	wallA := hlc.NewManualClock(time.UnixMilli(1_700_000_000_000))
	wallB := hlc.NewManualClock(time.UnixMilli(1_700_000_000_000 - 40))
	a, _ := hlc.NewClock(&hlc.Config{WallClock: wallA})
	b, _ := hlc.NewClock(&hlc.Config{WallClock: wallB})

	sent := a.Now() // a stamps a write and sends it to b
	if err := b.Update(sent); err != nil {
		fmt.Println(err)
		return
	}
	next := b.Now() // b's next write
	fmt.Println(sent, next, next > sent)
	// Output: 1700000000.000,0 1700000000.000,1 true
}

func ExampleNewClock() {
	// A nil *Config, like the zero Config, means the system clock and
	// DefaultMaxOffset.
	c, err := hlc.NewClock(nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Now().WallTime() > 0)

	_, err = hlc.NewClock(&hlc.Config{MaxOffset: -time.Second})
	fmt.Println(err)
	// Output:
	// true
	// hlc: Config.MaxOffset is negative (-1s); use 0 for the default 500ms
}

func ExampleClock_Now() {
	wall := hlc.NewManualClock(time.UnixMilli(1_700_000_000_000))
	c, _ := hlc.NewClock(&hlc.Config{WallClock: wall})

	fmt.Println(c.Now()) // the wall clock
	fmt.Println(c.Now()) // same millisecond: logical tick
	wall.Advance(-time.Second)
	fmt.Println(c.Now()) // the wall clock went back, the clock does not
	wall.Advance(2 * time.Second)
	fmt.Println(c.Now()) // the wall clock is ahead again
	// Output:
	// 1700000000.000,0
	// 1700000000.000,1
	// 1700000000.000,2
	// 1700000001.000,0
}

func ExampleClock_Update() {
	wall := hlc.NewManualClock(time.UnixMilli(1_700_000_000_000))
	c, _ := hlc.NewClock(&hlc.Config{WallClock: wall, MaxOffset: 250 * time.Millisecond})

	// A peer 200 ms ahead: accepted, and the clock moves past it.
	fmt.Println(c.Update(hlc.New(1_700_000_000_200, 7)))
	fmt.Println(c.Now())

	// A peer 2 s ahead: rejected, and the clock stays where it was.
	err := c.Update(hlc.New(1_700_000_002_000, 0))
	fmt.Println(errors.Is(err, hlc.ErrClockOffset))
	fmt.Println(err)
	fmt.Println(c.Now())
	// Output:
	// <nil>
	// 1700000000.200,8
	// true
	// hlc: remote timestamp 1700000002.000,0 is 2s ahead of the local wall clock (max offset 250ms)
	// 1700000000.200,9
}

func ExampleOffsetError() {
	wall := hlc.NewManualClock(time.UnixMilli(1_700_000_000_000))
	c, _ := hlc.NewClock(&hlc.Config{WallClock: wall})

	err := c.Update(hlc.New(1_700_000_003_000, 0))
	var oe *hlc.OffsetError
	if errors.As(err, &oe) {
		fmt.Println(oe.Offset, oe.MaxOffset)
	}
	// Output: 3s 500ms
}

func ExampleNew() {
	ts := hlc.New(1_700_000_000_123, 4)
	fmt.Println(ts.WallTime(), ts.Logical())
	fmt.Println(time.UnixMilli(ts.WallTime()).UTC())
	// Output:
	// 1700000000123 4
	// 2023-11-14 22:13:20.123 +0000 UTC
}

func ExampleTimestamp_WallTime() {
	ts := hlc.New(1_700_000_000_123, 4)
	fmt.Println(ts.WallTime())
	// Output: 1700000000123
}

func ExampleTimestamp_Logical() {
	// A full logical counter carries into the wall part.
	ts := hlc.New(1_700_000_000_123, 0xffff)
	fmt.Println(ts.Logical(), (ts + 1).Logical(), (ts + 1).WallTime())
	// Output: 65535 0 1700000000124
}

func ExampleTimestamp_IsZero() {
	var unset hlc.Timestamp
	fmt.Println(unset.IsZero(), hlc.New(0, 1).IsZero())
	// Output: true false
}

func ExampleTimestamp_String() {
	fmt.Println(hlc.New(1_700_000_000_123, 4).String())
	// Output: 1700000000.123,4
}

func ExampleParse() {
	ts, err := hlc.Parse("1700000000.123,4")
	fmt.Println(ts.WallTime(), ts.Logical(), err)

	_, err = hlc.Parse("1700000000.12,4")
	fmt.Println(errors.Is(err, hlc.ErrSyntax))
	fmt.Println(err)
	// Output:
	// 1700000000123 4 <nil>
	// true
	// hlc: invalid timestamp "1700000000.12,4": want exactly 3 millisecond digits between '.' and ','
}

func ExampleTimestamp_MarshalText() {
	b, _ := json.Marshal(map[string]hlc.Timestamp{"version": hlc.New(1_700_000_000_123, 4)})
	fmt.Println(string(b))
	// Output: {"version":"1700000000.123,4"}
}

func ExampleTimestamp_UnmarshalText() {
	var v struct{ Version hlc.Timestamp }
	err := json.Unmarshal([]byte(`{"Version":"1700000000.123,4"}`), &v)
	fmt.Println(v.Version.WallTime(), v.Version.Logical(), err)
	// Output: 1700000000123 4 <nil>
}

func ExampleTimestamp_Append() {
	// Timestamps as a big-endian key suffix sort in version order.
	key := hlc.New(1_700_000_000_123, 4).Append([]byte("user/42@"))
	fmt.Printf("%q\n", key)
	// Output: "user/42@\x01\x8b\xcf\xe5h{\x00\x04"
}

func ExampleDecode() {
	msg := hlc.New(1_700_000_000_123, 4).Append(nil)
	msg = append(msg, "payload"...)

	ts, rest, err := hlc.Decode(msg)
	fmt.Println(ts, string(rest), err)

	_, _, err = hlc.Decode(msg[:3])
	fmt.Println(errors.Is(err, hlc.ErrShortInput))
	fmt.Println(err)
	// Output:
	// 1700000000.123,4 payload <nil>
	// true
	// hlc: short input for timestamp: need 8 bytes, have 3
}

func ExampleManualClock() {
	var wall hlc.ManualClock // the zero ManualClock reads the Unix epoch
	wall.Set(time.Date(2026, 11, 21, 22, 0, 0, 0, time.UTC))
	wall.Advance(1500 * time.Millisecond)
	fmt.Println(wall.Now())
	wall.Advance(-time.Hour)
	fmt.Println(wall.Now())
	// Output:
	// 2026-11-21 22:00:01.5 +0000 UTC
	// 2026-11-21 21:00:01.5 +0000 UTC
}

func ExampleNewManualClock() {
	wall := hlc.NewManualClock(time.UnixMilli(1_700_000_000_000))
	c, _ := hlc.NewClock(&hlc.Config{WallClock: wall})
	fmt.Println(c.Now())
	// Output: 1700000000.000,0
}
