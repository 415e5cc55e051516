package store

// goSizeClasses are the Go runtime's small object size classes
// (runtime/sizeclasses.go): an allocation of n bytes occupies the first
// class >= n. Used to charge entries what they really cost. Read-only.
var goSizeClasses = [...]uint16{
	8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256,
	288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280,
	1408, 1536, 1792, 2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528,
	6784, 6912, 8192, 9472, 9728, 10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072,
	20480, 21760, 24576, 27264, 28672, 32768,
}

// sizeClass returns the bytes the Go allocator uses for an n-byte object.
func sizeClass(n int) int {
	switch {
	case n <= 16:
		return (n + 7) &^ 7 // 8 or 16 (blocks are never smaller than the header)
	case n <= 24:
		return 24
	case n <= 256:
		return (n + 15) &^ 15 // 32, 48, ..., 256: every multiple of 16
	case n > 32768:
		return (n + 8191) &^ 8191 // large objects take whole pages
	}
	lo, hi := 18, len(goSizeClasses)-1 // classes above 256
	for lo < hi {
		mid := (lo + hi) / 2
		if int(goSizeClasses[mid]) >= n {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return int(goSizeClasses[lo])
}
