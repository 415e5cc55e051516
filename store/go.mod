module github.com/gridkv/gridkv/store

go 1.26

require (
	github.com/gridkv/gridkv/hlc v0.0.0-00010101000000-000000000000
	github.com/zeebo/xxh3 v1.1.0
	go.uber.org/goleak v1.3.0
)

require (
	github.com/klauspost/cpuid/v2 v2.2.10 // indirect
	golang.org/x/sys v0.30.0 // indirect
)

replace github.com/gridkv/gridkv/hlc => ../hlc
