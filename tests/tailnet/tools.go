//go:build tools

// The real programs the lab runs, pinned through this module's go.mod.
package tools

import (
	_ "tailscale.com/cmd/tailscale"
	_ "tailscale.com/cmd/tailscaled"
)
