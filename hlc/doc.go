// Package hlc is a hybrid logical clock (Kulkarni et al. 2014), the version
// source for every write in GridKV.
package hlc
