package main

// Minimising a disagreement: keep only its connection, then delete every part of the route (a
// rule, an item, a list element, a rule-set, final) whose deletion keeps the same two answers.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func clone(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// paths lists every deletable place in v: object keys and list elements, deepest first.
func paths(v any, prefix []any) [][]any {
	var out [][]any
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			p := append(append([]any{}, prefix...), k)
			out = append(out, paths(c, p)...)
			out = append(out, p)
		}
	case []any:
		for i := len(t) - 1; i >= 0; i-- {
			p := append(append([]any{}, prefix...), i)
			out = append(out, paths(t[i], p)...)
			out = append(out, p)
		}
	}
	return out
}

// without returns a copy of root with the element at path deleted (nil if path is gone).
func without(root any, path []any) any {
	root = clone(root)
	var parent any = root
	for _, step := range path[:len(path)-1] {
		switch t := parent.(type) {
		case map[string]any:
			parent = t[step.(string)]
		case []any:
			i := step.(int)
			if i >= len(t) {
				return nil
			}
			parent = t[i]
		default:
			return nil
		}
	}
	last := path[len(path)-1]
	switch t := parent.(type) {
	case map[string]any:
		k := last.(string)
		if _, ok := t[k]; !ok {
			return nil
		}
		delete(t, k)
		return root
	case []any:
		i := last.(int)
		if i >= len(t) {
			return nil
		}
		// Deleting in place needs the parent's slot rewritten: rebuild through the parent path.
		return setAt(root, path[:len(path)-1], append(append([]any{}, t[:i]...), t[i+1:]...))
	}
	return nil
}

func setAt(root any, path []any, val any) any {
	if len(path) == 0 {
		return val
	}
	switch t := root.(type) {
	case map[string]any:
		t[path[0].(string)] = setAt(t[path[0].(string)], path[1:], val)
	case []any:
		t[path[0].(int)] = setAt(t[path[0].(int)], path[1:], val)
	}
	return root
}

// minimise shrinks d's case while both engines keep giving d's two answers.
func (e *env) minimise(d disagreement) Case {
	c := d.c
	c.Connections = []Conn{d.c.Connections[d.conn]}
	same := func(t Case) bool {
		res := e.run(t)
		return res.err == "" && e.sbView(t, res, 0) == d.sb && e.tbView(res, 0) == d.tb
	}
	if !same(c) {
		return c // flaky or depends on the other connections: keep it whole
	}
	tree := map[string]any{"route": clone(c.Route), "files": clone(c.Files)}
	for changed := true; changed; {
		changed = false
		for _, p := range paths(tree, nil) {
			if len(p) == 1 {
				continue
			}
			next := without(tree, p)
			if next == nil {
				continue
			}
			t := c
			m := next.(map[string]any)
			t.Route, _ = m["route"].(map[string]any)
			t.Files, _ = m["files"].(map[string]any)
			if t.Route == nil {
				continue
			}
			if same(t) {
				tree, c, changed = m, t, true
			}
		}
	}
	return c
}

// explain minimises a disagreement and prints it (and appends it to report, saves it as a case).
func (e *env) explain(d disagreement, report, save string) {
	m := e.minimise(d)
	cn := d.c.Connections[d.conn]
	m.Name = fmt.Sprintf("%s, connection %d", d.c.Name, d.conn)
	m.Note = fmt.Sprintf("sing-box: %s; sb-route: %s", d.sb, d.tb)
	route, _ := json.MarshalIndent(m.Route, "", "  ")
	files, _ := json.MarshalIndent(m.Files, "", "  ")
	conn, _ := json.Marshal(cn)
	text := fmt.Sprintf("## %s\n\nsing-box: `%s`, sb-route: `%s`\n\noutbounds %v; connection `%s`\n\n```json\n%s\n```\n",
		m.Name, d.sb, d.tb, m.Outbounds, conn, route)
	if len(m.Files) > 0 {
		text += fmt.Sprintf("\nrule-set files:\n```json\n%s\n```\n", files)
	}
	fmt.Println(text)
	if report != "" {
		f, err := os.OpenFile(report, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			_, _ = f.WriteString(text + "\n")
			f.Close()
		}
	}
	if save != "" {
		name := strings.NewReplacer(" ", "-", ",", "").Replace(m.Name) + ".json"
		b, _ := json.MarshalIndent(m, "", "  ")
		_ = os.WriteFile(filepath.Join(save, name), append(b, '\n'), 0o644)
	}
}
