module github.com/gridkv/gridkv/quorum

go 1.26

require (
	github.com/anishathalye/porcupine v1.3.1
	github.com/google/go-cmp v0.7.0
	github.com/gridkv/gridkv/hlc v0.0.0-00010101000000-000000000000
	github.com/gridkv/gridkv/ring v0.0.0-00010101000000-000000000000
	github.com/gridkv/gridkv/store v0.0.0-00010101000000-000000000000
	go.uber.org/goleak v1.3.0
)

require (
	github.com/klauspost/cpuid/v2 v2.2.10 // indirect
	github.com/zeebo/xxh3 v1.1.0 // indirect
	golang.org/x/sys v0.30.0 // indirect
)

replace (
	github.com/gridkv/gridkv/hlc => ../hlc
	github.com/gridkv/gridkv/ring => ../ring
	github.com/gridkv/gridkv/store => ../store
)
