//go:build !profile

package main

// startProfile does nothing in a release build; see profile.go.
func startProfile() func() { return func() {} }
