//go:build tools

// The reference sing-box (tests/singbox/build), pinned through this module's go.mod: the newest
// 1.13 patch the Go module proxy serves (1.13.19; the 1.13 line is what sb-route promises, so
// 1.14 is not taken). Built with the machine's Go, CGO_ENABLED=0.
package tools

import (
	_ "github.com/sagernet/sing-box/cmd/sing-box"
)
