package glob_test

import (
	"fmt"

	"github.com/gridkv/gridkv/gridkv/internal/glob"
)

func ExampleMatch() {
	fmt.Println(glob.Match("user:*:name", "user:42:name"))
	fmt.Println(glob.Match("h[^e]llo", "hello"))
	fmt.Println(glob.Match("\\*", "*"))
	// Output:
	// true
	// false
	// true
}
