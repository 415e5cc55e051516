module github.com/gridkv/gridkv/store

go 1.26

require github.com/gridkv/gridkv/hlc v0.0.0-00010101000000-000000000000

replace github.com/gridkv/gridkv/hlc => ../hlc
