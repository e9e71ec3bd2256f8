// difftest: sing-box as the referee of sb-route's decisions (issue 14, "Decide what sing-box
// decides"). A seeded generator writes random route configs and connections; sing-box runs each
// config as a mixed proxy whose outbounds are SOCKS markers, and the marker a connection reaches
// (or a refusal: sing-box's reject) is compared with `sb-route decide` on the same config.
//
//	difftest -singbox BIN -sbroute BIN [-seed N] [-configs N] [-conns N] [-jobs N] [-cases DIR]
//	         [-report FILE] [-save DIR]
//
// Exit codes: 0 no disagreement, 1 disagreements (each minimised and printed), 2 usage,
// 77 the reference sing-box is missing.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	singbox := flag.String("singbox", "build/singbox/sing-box", "the reference sing-box binary")
	sbroute := flag.String("sbroute", "build/cmd/sb-route/sb-route", "the sb-route binary")
	seed := flag.Int64("seed", 0, "generator seed (0: a new one, printed)")
	configs := flag.Int("configs", 50, "generated configs")
	conns := flag.Int("conns", 60, "connections per generated config")
	jobs := flag.Int("jobs", 2, "configs run at once")
	only := flag.Int("only", -1, "run only this config of the seed")
	casesDir := flag.String("cases", "", "directory of kept cases (*.json), run before the generated ones")
	report := flag.String("report", "", "append each minimised disagreement to this Markdown file")
	save := flag.String("save", "", "write each minimised disagreement as a case into this directory")
	verbose := flag.Bool("v", false, "print every decision")
	maxExplain := flag.Int("explain", 10, "minimise and print at most this many disagreements")
	flag.BoolVar(&noRuleSets, "no-rule-sets", false, "generate configs without rule-sets")
	flag.Float64Var(&udpShare, "udp", udpShare, "share of UDP connections (through UDP ASSOCIATE)")
	flag.Parse()
	if flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	if _, err := os.Stat(*singbox); err != nil {
		fmt.Fprintf(os.Stderr, "difftest: no reference sing-box at %s (make singbox): skipped\n", *singbox)
		os.Exit(77)
	}
	if *seed == 0 {
		*seed = time.Now().UnixNano() % 1000000007
	}
	e := &env{singbox: *singbox, sbroute: *sbroute, markers: map[string]*marker{}, timeout: 5 * time.Second, connJobs: 8}
	for _, t := range allTags {
		m, err := startMarker(t)
		if err != nil {
			fmt.Fprintln(os.Stderr, "difftest:", err)
			os.Exit(1)
		}
		e.markers[t] = m
	}
	var cases []Case
	if *casesDir != "" {
		kept, err := loadCases(*casesDir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "difftest:", err)
			os.Exit(1)
		}
		cases = append(cases, kept...)
	}
	for i := 0; i < *configs; i++ {
		if *only < 0 || *only == i {
			cases = append(cases, generate(*seed, i, *conns))
		}
	}
	fmt.Printf("difftest: seed %d, %d configs (%d kept cases)\n", *seed, len(cases), len(cases)-countGenerated(*configs, *only))
	start := time.Now()
	e.verbose = *verbose
	st := e.runAll(cases, *jobs)
	fmt.Printf("difftest: seed %d: %d decisions compared in %.1f s, %d disagreements, %d config errors\n",
		*seed, st.decisions, time.Since(start).Seconds(), len(st.bad), len(st.configErrs))
	if st.decisions > 0 {
		fmt.Printf("difftest: %.0f%% decided by a rule (the rest by final or the default outbound), %.0f%% rejects\n",
			100*float64(st.byRule)/float64(st.decisions), 100*float64(st.rejects)/float64(st.decisions))
	}
	for _, ce := range st.configErrs {
		fmt.Println("  config error:", ce)
	}
	for i, b := range st.bad {
		if i == *maxExplain {
			fmt.Printf("(%d more disagreements not minimised)\n", len(st.bad)-i)
			break
		}
		e.explain(b, *report, *save)
	}
	if len(st.bad) > 0 || len(st.configErrs) > 0 {
		os.Exit(1)
	}
}

func countGenerated(configs, only int) int {
	if only >= 0 {
		return 1
	}
	return configs
}

func loadCases(dir string) ([]Case, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []Case
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var c Case
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("%s: %v", f, err)
		}
		if c.Name == "" {
			c.Name = filepath.Base(f)
		}
		out = append(out, c)
	}
	return out, nil
}

type disagreement struct {
	c      Case
	conn   int
	sb, tb string
}

type stats struct {
	decisions  int64
	byRule     int64 // decided by a rule, not by final or the default outbound
	rejects    int64
	bad        []disagreement
	configErrs []string
}

// runAll runs the cases, jobs at a time; a config with several disagreements reports its first
// few only (they usually share one cause).
func (e *env) runAll(cases []Case, jobs int) *stats {
	st := &stats{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, jobs)
	var done int64
	for _, c := range cases {
		wg.Add(1)
		sem <- struct{}{}
		go func(c Case) {
			defer func() { <-sem; wg.Done() }()
			res := e.run(c)
			mu.Lock()
			defer mu.Unlock()
			if n := atomic.AddInt64(&done, 1); n%50 == 0 {
				fmt.Fprintf(os.Stderr, "difftest: %d/%d configs\n", n, len(cases))
			}
			if res.err != "" {
				st.configErrs = append(st.configErrs, c.Name+": "+res.err)
				return
			}
			shown := 0
			for i := range c.Connections {
				st.decisions++
				if res.byRule[i] {
					st.byRule++
				}
				if res.sb[i] == "reject" {
					st.rejects++
				}
				if e.verbose {
					cn, _ := json.Marshal(c.Connections[i])
					fmt.Printf("%s #%d %s: sing-box %s, sb-route %s\n", c.Name, i, cn, e.sbView(c, res, i), e.tbView(res, i))
				}
				if sb, tb := e.sbView(c, res, i), e.tbView(res, i); sb != tb {
					if shown < 3 {
						st.bad = append(st.bad, disagreement{c: c, conn: i, sb: sb, tb: tb})
					}
					shown++
				}
			}
		}(c)
	}
	wg.Wait()
	return st
}

// sbView is sing-box's decision for connection i; where a marker was asked for another
// destination than sb-route's effective one (an override, a resolved or rewritten name), both
// views carry the destination (tbView).
func (e *env) sbView(c Case, res result, i int) string {
	d := res.sb[i]
	if !strings.HasPrefix(d, "marker:") || sameDest(res.seen[i], res.tbDest[i]) {
		return d
	}
	return d + " @" + res.seen[i]
}

func (e *env) tbView(res result, i int) string {
	d := res.tb[i]
	if !strings.HasPrefix(res.sb[i], "marker:") || sameDest(res.seen[i], res.tbDest[i]) {
		return d
	}
	return d + " @" + res.tbDest[i]
}

// sameDest compares "host port" strings, addresses by value (a v4-mapped address is its v4), names
// without case (sb-route's effective destination is lower-cased; sing-box passes the name on as sent,
// and DNS does not tell them apart).
func sameDest(a, b string) bool {
	if strings.EqualFold(a, b) {
		return true
	}
	ah, ap, _ := strings.Cut(a, " ")
	bh, bp, _ := strings.Cut(b, " ")
	x, y := net.ParseIP(ah), net.ParseIP(bh)
	return ap == bp && x != nil && y != nil && x.Equal(y)
}
