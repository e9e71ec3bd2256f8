package main

// One case through both engines: sing-box as a mixed proxy whose outbounds are the markers, and
// sb-route decide on the same config with the same connections as JSON Lines.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type env struct {
	singbox, sbroute string
	markers          map[string]*marker
	timeout          time.Duration
	connJobs         int
	verbose          bool
}

// result of one case: per connection, what each side decided; setup problems in err.
type result struct {
	sb, tb  []string // "marker:TAG", "reject", or what went wrong
	seen    []string // the destination each marker was asked for
	srcPort []int
	byRule  []bool   // sb-route: a rule decided (not final or the default outbound)
	tbDest  []string // sb-route's effective destination, "host port"
	err     string   // a side refused the config, or the harness failed
}

// inboundPorts returns n ports for one sing-box, below the ephemeral range (32768 up on Linux, where
// the clients' own ports come from): a slot of its own per config run, so that two configs running
// at once never get the same port (the one that lost the bind would be tested through the other's
// sing-box). A port something else holds is skipped.
var nextSlot atomic.Int64

func inboundPorts(n int) ([]int, error) {
	for tries := 0; tries < 100; tries++ {
		base := 30000 + int(nextSlot.Add(1)%900)*n
		ok := true
		for i := 0; i < n && ok; i++ {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base+i))
			if err != nil {
				ok = false
				continue
			}
			l.Close()
		}
		if ok {
			out := make([]int, n)
			for i := range out {
				out[i] = base + i
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("no free slot of %d ports in 30000-32699", n)
}

// writeConfig writes the full config and its rule-set files into dir.
func (e *env) writeConfig(c Case, dir string, ports []int) (string, error) {
	var ins []any
	for i, in := range inbounds {
		m := map[string]any{"type": "mixed", "tag": in.tag, "listen": "127.0.0.1", "listen_port": ports[i]}
		if len(in.users) > 0 {
			var us []any
			for _, u := range in.users {
				us = append(us, map[string]any{"username": u, "password": "pw-" + u})
			}
			m["users"] = us
		}
		ins = append(ins, m)
	}
	var outs []any
	for _, t := range c.Outbounds {
		outs = append(outs, map[string]any{"type": "socks", "tag": t, "server": "127.0.0.1",
			"server_port": e.markers[t].port})
	}
	route := map[string]any{}
	for k, v := range c.Route {
		route[k] = v
	}
	if sets, ok := c.Route["rule_set"].([]any); ok { // local paths become absolute
		var abs []any
		for _, s := range sets {
			m := map[string]any{}
			for k, v := range s.(map[string]any) {
				m[k] = v
			}
			if p, ok := m["path"].(string); ok && !filepath.IsAbs(p) {
				m["path"] = filepath.Join(dir, p)
			}
			abs = append(abs, m)
		}
		route["rule_set"] = abs
	}
	for p, content := range c.Files {
		b, _ := json.MarshalIndent(content, "", "  ")
		if err := os.WriteFile(filepath.Join(dir, p), b, 0o644); err != nil {
			return "", err
		}
	}
	// info, for the line "sing-box started" (startLog); each connection's own info lines are dropped.
	cfg := map[string]any{"log": map[string]any{"level": "info"}, "inbounds": ins, "outbounds": outs, "route": route}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	path := filepath.Join(dir, "config.json")
	return path, os.WriteFile(path, b, 0o644)
}

func (e *env) run(c Case) result {
	res := result{}
	dir, err := os.MkdirTemp("", "tb-difftest-")
	if err != nil {
		res.err = err.Error()
		return res
	}
	defer os.RemoveAll(dir)
	for attempt := 0; ; attempt++ {
		ports, err := inboundPorts(len(inbounds))
		if err != nil {
			res.err = err.Error()
			return res
		}
		cfg, err := e.writeConfig(c, dir, ports)
		if err != nil {
			res.err = err.Error()
			return res
		}
		res, retry := e.runSingbox(c, cfg, ports)
		if retry && attempt < 3 {
			continue // a port was taken before sing-box's listen, or sing-box exited during the run
		}
		if res.err != "" {
			if tbErr := e.runSbRoute(c, cfg, &res); tbErr == "" {
				res.err = "sing-box refused a config sb-route accepts: " + res.err
			} else {
				res.err = "both refused the config (generator bug?): " + res.err + " | " + tbErr
			}
			return res
		}
		if tbErr := e.runSbRoute(c, cfg, &res); tbErr != "" {
			res.err = "sb-route refused a config sing-box accepts: " + tbErr
		}
		return res
	}
}

// runSingbox starts sing-box on cfg, waits for its inbounds and asks each connection.
func (e *env) runSingbox(c Case, cfg string, ports []int) (result, bool) {
	res := result{sb: make([]string, len(c.Connections)), seen: make([]string, len(c.Connections)),
		srcPort: make([]int, len(c.Connections))}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, e.singbox, "run", "-c", cfg, "-D", filepath.Dir(cfg))
	stderr := &startLog{started: make(chan struct{})}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		res.err = err.Error()
		return res, false
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	defer func() { cancel(); <-exited }()
	deadline := time.Now().Add(10 * time.Second)
	for _, p := range ports {
		for {
			if conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(p), time.Second); err == nil {
				conn.Close()
				break
			}
			select {
			case <-exited:
				msg := strings.TrimSpace(stderr.String())
				res.err = "sing-box exited: " + msg
				return res, strings.Contains(msg, "address already in use")
			case <-time.After(10 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				res.err = "sing-box did not listen within 10 s"
				return res, false
			}
		}
	}
	select { // its inbounds listen before its route rules start: wait for the end of start-up
	case <-stderr.started:
	case <-exited:
		msg := strings.TrimSpace(stderr.String())
		res.err = "sing-box exited: " + msg
		return res, strings.Contains(msg, "address already in use")
	case <-time.After(time.Until(deadline)):
		res.err = "sing-box did not finish starting within 10 s"
		return res, false
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, e.connJobs)
	for i, cn := range c.Connections {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int, cn Conn) {
			defer func() { <-sem; wg.Done() }()
			port := ports[inboundIndex(cn.Inbound)]
			o := ask(network(cn), port, cn.Source, cn.SrcPort, cn.User, "pw-"+cn.User, cn.Host, cn.Port, cn.SniffHost, e.timeout)
			if strings.HasPrefix(o.decision, "error:") { // the harness, not a decision (seen once in 100,000): once more
				fmt.Fprintf(os.Stderr, "difftest: %s connection %d: %s; asking again\n", c.Name, i, o.decision)
				o = ask(network(cn), port, cn.Source, 0, cn.User, "pw-"+cn.User, cn.Host, cn.Port, cn.SniffHost, e.timeout)
			}
			res.sb[i], res.seen[i], res.srcPort[i] = o.decision, o.seenHost, o.srcPort
		}(i, cn)
	}
	wg.Wait()
	select {
	case <-exited: // it did not run all along: the answers may be another process's
		res.err = "sing-box exited during the run: " + strings.TrimSpace(stderr.String())
		return res, true
	default:
	}
	return res, false
}

// startLog is sing-box's stderr. It closes started at the line "sing-box started", which box.go
// logs after every start stage, and keeps the other lines but info ones, for error messages.
// sing-box's inbounds listen in the stage before the one in which the router starts its rules
// (StartStateStart against StartStatePostStart, v1.13.19 box.go and route/router.go), and a
// rule_set item looks its sets up only then: a connection accepted in between matches no set.
// Seen once, on the kept case rule-set-inverted-outer-rule under a loaded machine.
type startLog struct {
	mu      sync.Mutex
	kept    bytes.Buffer
	partial []byte
	started chan struct{}
	once    sync.Once
}

func (l *startLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		line := l.partial[:i+1]
		switch {
		case bytes.Contains(line, []byte("sing-box started")):
			l.once.Do(func() { close(l.started) })
		case !bytes.Contains(line, []byte("INFO")):
			l.kept.Write(line)
		}
		l.partial = append(l.partial[:0], l.partial[i+1:]...)
	}
	return len(p), nil
}

func (l *startLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.kept.String() + string(l.partial)
}

func network(c Conn) string {
	if c.Network == "" {
		return "tcp"
	}
	return c.Network
}

func inboundIndex(tag string) int {
	for i, in := range inbounds {
		if in.tag == tag {
			return i
		}
	}
	return 0
}

// runSbRoute asks sb-route decide for every connection (with the source port sing-box saw);
// a refused config is returned as its error text.
func (e *env) runSbRoute(c Case, cfg string, res *result) string {
	var in bytes.Buffer
	for i, cn := range c.Connections {
		sp := cn.SrcPort
		if res.srcPort != nil && res.srcPort[i] != 0 {
			sp = res.srcPort[i]
		}
		req := map[string]any{"id": i, "destination": map[string]any{"host": cn.Host, "port": cn.Port},
			"inbound": cn.Inbound, "network": network(cn), "source": map[string]any{"host": cn.Source, "port": sp}}
		if cn.User != "" {
			req["user"] = cn.User
		}
		if cn.SniffHost != "" {
			req["sniff_result"] = map[string]any{"protocol": "http", "domain": cn.SniffHost}
		}
		b, _ := json.Marshal(req)
		in.Write(append(b, '\n'))
	}
	cmd := exec.Command(e.sbroute, "-c", cfg, "decide")
	cmd.Stdin = &in
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err := cmd.Run()
	res.tb = make([]string, len(c.Connections))
	res.byRule = make([]bool, len(c.Connections))
	res.tbDest = make([]string, len(c.Connections))
	for i := range res.tb {
		res.tb[i] = "error:no decision"
	}
	sc := bufio.NewScanner(&out)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var d struct {
			ID       *int    `json:"id"`
			Action   string  `json:"action"`
			Outbound *string `json:"outbound"`
			Error    *string `json:"error"`
			Final    bool    `json:"final"`
			Dest     struct {
				Host string `json:"host"`
				Port int    `json:"port"`
			} `json:"effective_destination"`
		}
		if json.Unmarshal(sc.Bytes(), &d) != nil || d.ID == nil || *d.ID < 0 || *d.ID >= len(res.tb) {
			continue
		}
		res.byRule[*d.ID] = !d.Final
		res.tbDest[*d.ID] = fmt.Sprintf("%s %d", d.Dest.Host, d.Dest.Port)
		switch {
		case d.Action == "route" && d.Outbound != nil:
			res.tb[*d.ID] = "marker:" + *d.Outbound
		case d.Action == "reject":
			res.tb[*d.ID] = "reject"
		default:
			res.tb[*d.ID] = "action:" + d.Action
		}
	}
	if err != nil && out.Len() == 0 {
		return fmt.Sprintf("sb-route: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return ""
}
