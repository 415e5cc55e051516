module github.com/gridkv/gridkv/transport

go 1.26
