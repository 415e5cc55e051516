module github.com/gridkv/gridkv/benchmarks

go 1.26
