module github.com/gridkv/gridkv/gridkv

go 1.26.0

require (
	github.com/VictoriaMetrics/metrics v1.35.1
	github.com/gridkv/gridkv/hlc v0.0.0-00010101000000-000000000000
	github.com/gridkv/gridkv/quorum v0.0.0-00010101000000-000000000000
	github.com/gridkv/gridkv/ring v0.0.0-00010101000000-000000000000
	github.com/gridkv/gridkv/store v0.0.0-00010101000000-000000000000
	github.com/gridkv/gridkv/swim v0.0.0-00010101000000-000000000000
	github.com/gridkv/gridkv/transport v0.0.0-00010101000000-000000000000
	github.com/hashicorp/memberlist v0.7.0
	github.com/redis/go-redis/v9 v9.23.0
	github.com/tidwall/redcon v1.6.2
	go.uber.org/goleak v1.3.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/google/btree v1.1.3 // indirect
	github.com/hashicorp/errwrap v1.1.0 // indirect
	github.com/hashicorp/go-immutable-radix v1.3.1 // indirect
	github.com/hashicorp/go-metrics v0.7.0 // indirect
	github.com/hashicorp/go-msgpack/v2 v2.1.5 // indirect
	github.com/hashicorp/go-multierror v1.1.1 // indirect
	github.com/hashicorp/go-sockaddr v1.0.7 // indirect
	github.com/hashicorp/golang-lru v1.0.2 // indirect
	github.com/klauspost/cpuid/v2 v2.4.0 // indirect
	github.com/miekg/dns v1.1.73 // indirect
	github.com/quic-go/quic-go v0.65.0 // indirect
	github.com/sean-/seed v0.0.0-20170313163322-e2103e2c3529 // indirect
	github.com/tidwall/btree v1.1.0 // indirect
	github.com/tidwall/match v1.1.1 // indirect
	github.com/valyala/fastrand v1.1.0 // indirect
	github.com/valyala/histogram v1.2.0 // indirect
	github.com/zeebo/xxh3 v1.1.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/crypto v0.54.0 // indirect
	golang.org/x/net v0.57.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)

replace (
	github.com/gridkv/gridkv/hlc => ../hlc
	github.com/gridkv/gridkv/quorum => ../quorum
	github.com/gridkv/gridkv/ring => ../ring
	github.com/gridkv/gridkv/store => ../store
	github.com/gridkv/gridkv/swim => ../swim
	github.com/gridkv/gridkv/transport => ../transport
)
