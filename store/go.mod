module github.com/gridkv/gridkv/store

go 1.26
