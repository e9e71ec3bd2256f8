package main

// The seeded generator: random route configs over every route rule item both sides carry out
// without sniffing, DNS or process lookup, and random connections drawn from the same small
// vocabularies, so that rules match often enough to matter.

import (
	"fmt"
	"math/rand"
	"strings"
)

// A case is what both engines are given: the route part of a config (the harness adds the
// inbounds and the outbounds' marker addresses), the local rule-set files and the connections.
type Case struct {
	Name        string         `json:"name,omitempty"`
	Outbounds   []string       `json:"outbounds"`
	Route       map[string]any `json:"route"`
	Files       map[string]any `json:"files,omitempty"` // local rule-set path → source content
	Connections []Conn         `json:"connections"`
	Note        string         `json:"note,omitempty"`
}

type Conn struct {
	Network string `json:"network,omitempty"` // "tcp" (the default) or "udp"
	Inbound string `json:"inbound"`
	User    string `json:"user,omitempty"`
	Source  string `json:"source"`
	SrcPort int    `json:"source_port,omitempty"` // 0: any port
	Host    string `json:"host"`
	Port    int    `json:"port"`
	// SniffHost: the client's first bytes are an HTTP request for this Host (TCP only), which
	// sing-box's sniff action finds; sb-route is told as sniff_result.
	SniffHost string `json:"sniff_host,omitempty"`
}

// The inbounds every config gets: mixed proxies, two of them with users.
var inbounds = []struct {
	tag   string
	users []string
}{{"in0", nil}, {"in1", []string{"alice", "bob"}}, {"in2", []string{"bob", "carol"}}}

var (
	allTags = []string{"a", "b", "c", "d", "e"}
	sources = []string{"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.5", "127.0.0.9", "127.0.0.10"}
	domains = []string{"example.com", "www.example.com", "a.example.com", "b.a.example.com", "example.org",
		"www.example.org", "test.net", "sub.test.net", "mytest.net", "foo.bar.io", "bar.io", "xbar.io",
		"example.com.cn", "cn", "localhost", "Example.COM", "WWW.Test.Net", "a-b.example.com",
		"x1.y2.z3.dev", "dev", "example.com.", "10.0.0.1.nip.io"}
	destIPs = []string{"10.0.0.1", "10.1.2.3", "192.168.1.1", "172.16.5.4", "172.32.0.1", "8.8.8.8", "8.8.4.4",
		"1.1.1.1", "100.64.0.1", "100.100.100.100", "169.254.1.1", "127.0.0.5", "224.0.0.1",
		"255.255.255.255", "2001:db8::1", "fd00::1", "fe80::1", "2606:4700::1111", "::1", "::ffff:1.2.3.4",
		"::ffff:10.0.0.1"}
	destPorts   = []int{80, 443, 53, 22, 8080, 8443, 1, 65535, 1000, 1500, 2000, 999, 5000, 8000, 1024, 1025, 25, 993}
	vDomain     = domains
	vSuffix     = []string{"example.com", ".example.com", "com", "t.net", ".net", "bar.io", "a.example.com", "org", "example.com.cn", ".cn", "Example.com", "io", "dev."}
	vKeyword    = []string{"exam", "test", "bar", "o", "ample.c", "-b", "COM", ".", "nip"}
	vRegex      = []string{`^www\.`, `\.io$`, `^[a-c]\.`, `ample`, `^[^.]+$`, `\d`, `^.*\.net$`, `[A-Z]`, `e\.c`}
	vCIDR       = []string{"10.0.0.0/8", "10.1.0.0/16", "192.168.0.0/16", "172.16.0.0/12", "8.8.8.0/24", "1.1.1.1/32", "1.1.1.1", "100.64.0.0/10", "2001:db8::/32", "fd00::/8", "::/0", "0.0.0.0/0", "127.0.0.0/8", "10.1.2.3", "2606:4700::/32", "224.0.0.0/4", "1.2.3.4/32"}
	vSrcCIDR    = []string{"127.0.0.1", "127.0.0.2/32", "127.0.0.0/30", "127.0.0.0/8", "10.0.0.0/8", "127.0.0.8/29", "0.0.0.0/0", "::/0"}
	vPorts      = []int{80, 443, 53, 22, 8080, 8443, 1, 65535, 1000}
	vPortRanges = []string{"1000:2000", "80:443", ":1024", "8000:", "443:443", "1025:65535"}
	vProtocols  = []string{"http", "tls", "dns", "quic", "bittorrent"}
	vNetworks   = []string{"tcp", "udp"}
)

// noRuleSets leaves rule-sets out (to tell a disagreement's cause apart); udpShare is the share
// of UDP connections.
var (
	noRuleSets bool
	udpShare   = 0.25
)

type gen struct {
	r        *rand.Rand
	tags     []string // this config's outbounds
	ruleSets []string // this config's rule-set tags
	srcBase  int      // this config's source ports: srcBase..srcBase+19
}

func (g *gen) pick(list []string) string { return list[g.r.Intn(len(list))] }

// some returns 1..max distinct elements of list, as the element alone when there is one and the
// coin says so (sing-box's listable fields take both).
func some[T any](g *gen, list []T, max int) any {
	n := 1 + g.r.Intn(max)
	out := []T{}
	for _, i := range g.r.Perm(len(list)) {
		if len(out) == n {
			break
		}
		out = append(out, list[i])
	}
	if len(out) == 1 && g.r.Intn(2) == 0 {
		return out[0]
	}
	return out
}

func (g *gen) srcPorts() []int {
	out := []int{}
	for i := 0; i < 6; i++ {
		out = append(out, g.srcBase+i*3)
	}
	return out
}

func (g *gen) srcRanges() []string {
	b := g.srcBase
	return []string{fmt.Sprintf("%d:%d", b, b+5), fmt.Sprintf(":%d", b+3), fmt.Sprintf("%d:", b+10), "1:65535"}
}

// item adds one random rule item to rule; headless restricts it to rule-set items.
func (g *gen) item(rule map[string]any, headless bool) {
	kinds := []string{"domain", "domain_suffix", "domain_keyword", "domain_regex", "ip_cidr", "source_ip_cidr",
		"port", "port_range", "source_port", "source_port_range", "network"}
	if !headless {
		kinds = append(kinds, "inbound", "auth_user", "ip_is_private", "source_ip_is_private", "ip_version",
			"protocol", "protocol", "client", "ip_cidr", "port", "domain_suffix")
		if len(g.ruleSets) > 0 {
			kinds = append(kinds, "rule_set", "rule_set", "rule_set")
		}
	}
	switch k := g.pick(kinds); k {
	case "domain":
		rule[k] = some(g, vDomain, 3)
	case "domain_suffix":
		rule[k] = some(g, vSuffix, 3)
	case "domain_keyword":
		rule[k] = some(g, vKeyword, 2)
	case "domain_regex":
		rule[k] = some(g, vRegex, 2)
	case "ip_cidr":
		rule[k] = some(g, vCIDR, 3)
	case "source_ip_cidr":
		rule[k] = some(g, vSrcCIDR, 2)
	case "port":
		rule[k] = some(g, vPorts, 3)
	case "port_range":
		rule[k] = some(g, vPortRanges, 2)
	case "source_port":
		rule[k] = some(g, g.srcPorts(), 3)
	case "source_port_range":
		rule[k] = some(g, g.srcRanges(), 2)
	case "network":
		rule[k] = some(g, vNetworks, 2)
	case "inbound":
		rule[k] = some(g, []string{"in0", "in1", "in2"}, 2)
	case "auth_user":
		rule[k] = some(g, []string{"alice", "bob", "carol", "dave"}, 2)
	case "ip_is_private", "source_ip_is_private":
		rule[k] = g.r.Intn(2) == 0
	case "ip_version":
		rule[k] = 4 + 2*g.r.Intn(2)
	case "protocol":
		rule[k] = some(g, vProtocols, 2)
	case "client":
		rule[k] = some(g, []string{"chromium", "safari", "firefox"}, 2)
	case "rule_set":
		rule[k] = some(g, g.ruleSets, 2)
		if g.r.Intn(3) == 0 {
			rule["rule_set_ip_cidr_match_source"] = true
		}
	}
}

// rule returns a default or logical rule (without action) nested at most depth deep.
func (g *gen) rule(headless bool, depth int) map[string]any {
	r := map[string]any{}
	if depth > 0 && g.r.Intn(5) == 0 {
		r["type"] = "logical"
		r["mode"] = []string{"and", "or"}[g.r.Intn(2)]
		subs := []any{}
		for i, n := 0, 1+g.r.Intn(3); i < n; i++ {
			subs = append(subs, g.rule(headless, depth-1))
		}
		r["rules"] = subs
	} else {
		for i, n := 0, 1+g.r.Intn(3); i < n; i++ {
			g.item(r, headless)
		}
	}
	if g.r.Intn(5) == 0 {
		r["invert"] = true
	}
	return r
}

func (g *gen) action(r map[string]any) {
	switch n := g.r.Intn(20); {
	case n < 12:
		r["action"] = "route"
		r["outbound"] = g.pick(g.tags)
	case n < 14:
		r["outbound"] = g.pick(g.tags) // no action: route
	case n < 16:
		r["action"] = "reject"
		if g.r.Intn(2) == 0 {
			r["method"] = []string{"default", "drop"}[g.r.Intn(2)]
		}
	case n < 17:
		r["action"] = "sniff"
		r["timeout"] = "20ms" // a client that sends nothing first costs this much
		if g.r.Intn(3) == 0 {
			r["sniffer"] = some(g, []string{"http", "tls", "quic", "dns"}, 2)
		}
	default:
		// A route-options action needs an option; of those, sb-route carries the overrides (and
		// refuses udp_timeout, tls_fragment and the like at check).
		r["action"] = "route-options"
		g.override(r)
	}
	if a, _ := r["action"].(string); a == "route" && g.r.Intn(4) == 0 {
		g.override(r) // the destination changes at once: later rules see it, the marker gets it
	}
}

func (g *gen) override(r map[string]any) {
	if g.r.Intn(2) == 0 {
		r["override_port"] = destPorts[g.r.Intn(len(destPorts))]
	}
	if g.r.Intn(2) == 0 || r["override_port"] == nil {
		if g.r.Intn(2) == 0 {
			// Not an IPv4-mapped address: sing-box keeps it IPv6 there, sb-route cannot yet
			// (tests/fixtures/singbox/diff/override-mapped-address.json).
			for r["override_address"] = g.pick(destIPs); strings.HasPrefix(r["override_address"].(string), "::ffff:"); {
				r["override_address"] = g.pick(destIPs)
			}
		} else {
			r["override_address"] = g.pick(domains)
		}
	}
}

// generate writes config number idx of the run seeded with seed: its own seed is derived, so a
// config can be regenerated alone.
func generate(seed int64, idx, conns int) Case {
	g := &gen{r: rand.New(rand.NewSource(seed*1000003 + int64(idx))), srcBase: 20000 + (idx%400)*20}
	for _, i := range g.r.Perm(len(allTags))[:2+g.r.Intn(4)] {
		g.tags = append(g.tags, allTags[i])
	}
	c := Case{Name: fmt.Sprintf("seed %d config %d", seed, idx), Outbounds: g.tags, Route: map[string]any{},
		Files: map[string]any{}}
	var sets []any
	for i, n := 0, g.r.Intn(4); i < n && !noRuleSets; i++ {
		tag := fmt.Sprintf("rs%d", i)
		var rules []any
		for j, m := 0, 1+g.r.Intn(3); j < m; j++ {
			rules = append(rules, g.rule(true, 1))
		}
		if g.r.Intn(2) == 0 {
			sets = append(sets, map[string]any{"type": "inline", "tag": tag, "rules": rules})
		} else {
			path := tag + ".json"
			sets = append(sets, map[string]any{"type": "local", "tag": tag, "format": "source", "path": path})
			c.Files[path] = map[string]any{"version": 3, "rules": rules}
		}
		g.ruleSets = append(g.ruleSets, tag)
	}
	if len(sets) > 0 {
		c.Route["rule_set"] = sets
	}
	var rules []any
	for i, n := 0, 1+g.r.Intn(8); i < n; i++ {
		r := g.rule(false, 2)
		g.action(r)
		rules = append(rules, r)
	}
	c.Route["rules"] = rules
	if g.r.Intn(2) == 0 {
		c.Route["final"] = g.pick(g.tags)
	}
	for i := 0; i < conns; i++ {
		c.Connections = append(c.Connections, g.conn())
	}
	return c
}

func (g *gen) conn() Conn {
	in := inbounds[g.r.Intn(len(inbounds))]
	c := Conn{Inbound: in.tag, Source: g.pick(sources), Port: destPorts[g.r.Intn(len(destPorts))]}
	if len(in.users) > 0 {
		c.User = g.pick(in.users)
	}
	if g.r.Intn(2) == 0 {
		c.Host = g.pick(domains)
	} else {
		c.Host = g.pick(destIPs)
	}
	if g.r.Intn(2) == 0 {
		c.SrcPort = g.srcBase + g.r.Intn(20)
	}
	if g.r.Float64() < udpShare {
		c.Network = "udp"
	} else if g.r.Intn(3) == 0 {
		c.SniffHost = g.pick(domains)
	}
	return c
}
