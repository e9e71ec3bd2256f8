//go:build tools

// The real programs the lab runs, pinned through this module's go.mod.
package tools

import (
	_ "tailscale.com/cmd/tailscale"
	_ "tailscale.com/cmd/tailscaled"
	// labcontrol builds a patched copy of this one (see the lab script, "build").
	_ "tailscale.com/tstest/integration/testcontrol"
)
