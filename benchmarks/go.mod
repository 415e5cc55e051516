module github.com/gridkv/gridkv/benchmarks

go 1.26

require (
	github.com/gridkv/gridkv/hlc v0.0.0-00010101000000-000000000000
	github.com/gridkv/gridkv/ring v0.0.0-00010101000000-000000000000
	github.com/gridkv/gridkv/store v0.0.0-00010101000000-000000000000
	github.com/gridkv/gridkv/swim v0.0.0-00010101000000-000000000000
	github.com/gridkv/gridkv/transport v0.0.0-00010101000000-000000000000
)

require (
	github.com/buraksezer/consistent v0.10.0 // indirect
	github.com/klauspost/cpuid/v2 v2.2.10 // indirect
	github.com/maypok86/otter/v2 v2.4.0 // indirect
	github.com/zeebo/xxh3 v1.1.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
)

replace (
	github.com/gridkv/gridkv/hlc => ../hlc
	github.com/gridkv/gridkv/ring => ../ring
	github.com/gridkv/gridkv/store => ../store
	github.com/gridkv/gridkv/swim => ../swim
	github.com/gridkv/gridkv/transport => ../transport
)
