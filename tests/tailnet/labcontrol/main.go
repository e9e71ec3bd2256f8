// labcontrol is the tailnet lab's control plane: tailscale's own test control server
// (tailscale.com/tstest/integration/testcontrol), a DERP server and a STUN server, all on one
// address of the lab network, plus a small admin API on a Unix socket that `lab admin` drives.
//
// It prints one JSON line on stdout once everything listens:
//
//	{"type":"ready","control_url":"http://IP:PORT","derp_port":N,"stun_port":N}
//
// Admin API (HTTP over the --admin Unix socket; every call answers JSON, errors with 4xx):
//
//	GET  /nodes                            every registered node: name, key, ips, online, routes
//	POST /complete-auth?url=URL            complete an interactive login (the daemon's AuthURL)
//	POST /set-routes?node=NAME&cidr=C...   approve a node's routes (replaces the approved set)
//	POST /online?node=NAME&value=BOOL      mark a node online or offline for its peers
//	POST /dns-record?name=NAME&ip=IP       add a DNS extra record to the tailnet's DNS config
//	POST /expire-keys                      expire every node's key
//	POST /auth-mode?mode=key|interactive   how the next registration is decided
//	POST /cap?node=NAME&cap=C...           add node capabilities (e.g. suggest-exit-node, which makes
//	                                       an exit node a candidate for suggestions and auto:any)
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"tailscale.com/derp/derpserver"
	"tailscale.com/net/stunserver"
	"tailscale.com/tailcfg"
	"tailscale.com/types/dnstype"
	"tailbox.test/tailnet/testcontrol" // tailscale.com/tstest/integration/testcontrol, patched by lab build
	"tailscale.com/types/key"
)

type lab struct {
	ctl     *testcontrol.Server
	authKey string

	mu      sync.Mutex
	offline map[key.NodePublic]bool // nodes the admin marked offline; the rest are online once they poll
}

func main() {
	addr := flag.String("addr", "", "lab address to listen on (control, DERP, STUN)")
	controlPort := flag.Int("control-port", 0, "control server port (0: any)")
	admin := flag.String("admin", "", "Unix socket path for the admin API")
	authKey := flag.String("auth-key", "", "the auth key registrations need in key mode")
	suffix := flag.String("suffix", "", "MagicDNS suffix")
	verbose := flag.Bool("verbose", false, "log every control message")
	flag.Parse()
	if *addr == "" || *admin == "" || *authKey == "" || *suffix == "" {
		log.Fatal("usage: labcontrol --addr IP --admin SOCK --auth-key KEY --suffix SUFFIX")
	}
	ip := *addr

	// DERP over TLS with a self-signed certificate (InsecureForTests), as tailscale's own
	// integration tests run it.
	d := derpserver.New(key.NewNode(), log.Printf)
	derpLn, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		log.Fatalf("derp listen: %v", err)
	}
	derpSrv := &http.Server{Handler: derpserver.Handler(d), ErrorLog: log.Default(),
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}}
	cert, err := selfSigned(ip)
	if err != nil {
		log.Fatalf("derp cert: %v", err)
	}
	go derpSrv.Serve(tls.NewListener(derpLn, &tls.Config{Certificates: []tls.Certificate{cert}}))

	stun := stunserver.New(context.Background())
	if err := stun.Listen(net.JoinHostPort(ip, "0")); err != nil {
		log.Fatalf("stun listen: %v", err)
	}
	go stun.Serve()
	stunPort := stun.LocalAddr().(*net.UDPAddr).Port
	derpPort := derpLn.Addr().(*net.TCPAddr).Port

	ctlLn, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(*controlPort)))
	if err != nil {
		log.Fatalf("control listen: %v", err)
	}
	baseURL := "http://" + ctlLn.Addr().String()
	l := &lab{authKey: *authKey, offline: map[key.NodePublic]bool{}}
	l.ctl = &testcontrol.Server{
		Logf:            log.Printf,
		Verbose:         *verbose,
		RequireAuthKey:  *authKey,
		MagicDNSDomain:  *suffix,
		DNSConfig:       &tailcfg.DNSConfig{Proxied: true, Domains: []string{*suffix}},
		ExplicitBaseURL: baseURL,
		DERPMap: &tailcfg.DERPMap{Regions: map[int]*tailcfg.DERPRegion{
			900: {RegionID: 900, RegionCode: "lab", RegionName: "Lab",
				Nodes: []*tailcfg.DERPNode{{
					Name: "900a", RegionID: 900, HostName: ip, IPv4: ip, IPv6: "none",
					STUNPort: stunPort, DERPPort: derpPort, InsecureForTests: true, STUNTestIP: ip,
				}}},
		}},
	}
	// A real control server reports a node online while its map poll is open. testcontrol leaves
	// Online unset (which clients show as offline); the lab sets it once a node first polls,
	// unless the admin marked it offline.
	l.ctl.SetOnMapRequest(func(nk key.NodePublic) { go l.markPolled(nk) })
	go http.Serve(ctlLn, l.ctl)

	os.Remove(*admin)
	adminLn, err := net.Listen("unix", *admin)
	if err != nil {
		log.Fatalf("admin listen: %v", err)
	}
	go http.Serve(adminLn, l.adminMux())

	ready, _ := json.Marshal(map[string]any{"type": "ready", "control_url": baseURL,
		"derp_port": derpPort, "stun_port": stunPort})
	fmt.Println(string(ready))

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	adminLn.Close()
	os.Remove(*admin)
}

func (l *lab) markPolled(nk key.NodePublic) {
	n := l.ctl.Node(nk)
	if n == nil || n.Online != nil {
		return
	}
	l.mu.Lock()
	online := !l.offline[nk]
	l.mu.Unlock()
	l.setOnline(n, online)
}

func (l *lab) setOnline(n *tailcfg.Node, online bool) {
	n.Online = &online
	if !online {
		seen := time.Now()
		n.LastSeen = &seen
	}
	l.ctl.UpdateNode(n)
}

// nodeByName finds a node by its hostname (the lab names each node's host after it).
func (l *lab) nodeByName(name string) (*tailcfg.Node, error) {
	var found *tailcfg.Node
	for _, n := range l.ctl.AllNodes() {
		if n.Hostinfo.Hostname() != name {
			continue
		}
		// After a logout and a new login the old key stays registered: the newest node wins.
		if found == nil || n.ID > found.ID {
			found = n
		}
	}
	if found == nil {
		return nil, fmt.Errorf("no node named %q", name)
	}
	return found, nil
}

func (l *lab) adminMux() *http.ServeMux {
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, v any, err error) {
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		json.NewEncoder(w).Encode(v)
	}
	post := func(path string, f func(r *http.Request) (any, error)) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost {
				http.Error(w, "POST only", http.StatusMethodNotAllowed)
				return
			}
			v, err := f(r)
			reply(w, v, err)
		})
	}
	mux.HandleFunc("/nodes", func(w http.ResponseWriter, r *http.Request) {
		var out []map[string]any
		for _, n := range l.ctl.AllNodes() {
			out = append(out, map[string]any{
				"name": n.Hostinfo.Hostname(), "id": n.ID, "key": n.Key.String(),
				"ips": n.Addresses, "online": n.Online, "primary_routes": n.PrimaryRoutes,
				"advertised_routes": n.Hostinfo.RoutableIPs().AsSlice(),
			})
		}
		reply(w, out, nil)
	})
	post("/complete-auth", func(r *http.Request) (any, error) {
		u := r.URL.Query().Get("url")
		if !l.ctl.CompleteAuth(u) {
			return nil, fmt.Errorf("no pending login at %q", u)
		}
		return map[string]bool{"ok": true}, nil
	})
	post("/set-routes", func(r *http.Request) (any, error) {
		n, err := l.nodeByName(r.URL.Query().Get("node"))
		if err != nil {
			return nil, err
		}
		var routes []netip.Prefix
		for _, c := range r.URL.Query()["cidr"] {
			p, err := netip.ParsePrefix(c)
			if err != nil {
				return nil, err
			}
			routes = append(routes, p)
		}
		l.ctl.SetSubnetRoutes(n.Key, routes)
		return map[string]any{"node": n.Hostinfo.Hostname(), "routes": routes}, nil
	})
	post("/online", func(r *http.Request) (any, error) {
		n, err := l.nodeByName(r.URL.Query().Get("node"))
		if err != nil {
			return nil, err
		}
		online, err := strconv.ParseBool(r.URL.Query().Get("value"))
		if err != nil {
			return nil, fmt.Errorf("value: want true or false")
		}
		l.mu.Lock()
		l.offline[n.Key] = !online
		l.mu.Unlock()
		l.setOnline(n, online)
		return map[string]any{"node": n.Hostinfo.Hostname(), "online": online}, nil
	})
	post("/dns-record", func(r *http.Request) (any, error) {
		name, ip := r.URL.Query().Get("name"), r.URL.Query().Get("ip")
		a, err := netip.ParseAddr(ip)
		if err != nil || name == "" {
			return nil, fmt.Errorf("want name=NAME ip=IP")
		}
		typ := "A"
		if a.Is6() {
			typ = "AAAA"
		}
		l.ctl.AddDNSRecords(tailcfg.DNSRecord{Name: strings.TrimSuffix(name, "."), Type: typ, Value: a.String()})
		return map[string]string{"name": name, "ip": a.String()}, nil
	})
	// A split-DNS route: names under suffix go to the resolvers (none: answered by MagicDNS alone).
	// testcontrol has no setter: the routes are set on its DNS config, and an empty AddDNSRecords
	// sends every node the new netmap.
	post("/dns-route", func(r *http.Request) (any, error) {
		suffix := strings.TrimSuffix(r.URL.Query().Get("suffix"), ".")
		if suffix == "" {
			return nil, fmt.Errorf("want suffix=DOMAIN [resolver=ADDR...]")
		}
		var resolvers []*dnstype.Resolver
		for _, a := range r.URL.Query()["resolver"] {
			resolvers = append(resolvers, &dnstype.Resolver{Addr: a})
		}
		l.mu.Lock()
		if l.ctl.DNSConfig.Routes == nil {
			l.ctl.DNSConfig.Routes = map[string][]*dnstype.Resolver{}
		}
		l.ctl.DNSConfig.Routes[suffix+"."] = resolvers
		l.mu.Unlock()
		l.ctl.AddDNSRecords()
		return map[string]any{"suffix": suffix, "resolvers": r.URL.Query()["resolver"]}, nil
	})
	post("/expire-keys", func(r *http.Request) (any, error) {
		l.ctl.SetExpireAllNodes(true)
		return map[string]bool{"expired": true}, nil
	})
	post("/cap", func(r *http.Request) (any, error) {
		n, err := l.nodeByName(r.URL.Query().Get("node"))
		if err != nil {
			return nil, err
		}
		caps := tailcfg.NodeCapMap{}
		for c, v := range n.CapMap {
			caps[c] = v
		}
		for _, c := range r.URL.Query()["cap"] {
			caps[tailcfg.NodeCapability(c)] = nil
		}
		l.ctl.SetNodeCapMap(n.Key, caps)
		return map[string]any{"node": n.Hostinfo.Hostname(), "caps": caps}, nil
	})
	post("/auth-mode", func(r *http.Request) (any, error) {
		switch mode := r.URL.Query().Get("mode"); mode {
		case "key":
			l.ctl.RequireAuth, l.ctl.RequireAuthKey = false, l.authKey
		case "interactive":
			l.ctl.RequireAuth, l.ctl.RequireAuthKey = true, ""
		default:
			return nil, fmt.Errorf("mode: want key or interactive")
		}
		return map[string]string{"mode": r.URL.Query().Get("mode")}, nil
	})
	return mux
}
