package main

// The two SOCKS5 ends of a decision (RFC 1928, RFC 1929): the marker servers that stand in for
// every outbound, and the client that asks sing-box's mixed inbound for one connection.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// marker is a SOCKS5 server standing in for the outbound `tag`: it accepts every CONNECT, replies
// success and writes "MARK tag host port\n", so the client learns which outbound sing-box chose and the
// destination that outbound was asked for (domains must arrive unresolved).
type marker struct {
	tag  string
	ln   net.Listener
	port int
}

func startMarker(tag string) (*marker, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	m := &marker{tag: tag, ln: ln, port: ln.Addr().(*net.TCPAddr).Port}
	go m.serve()
	return m, nil
}

func (m *marker) serve() {
	for {
		c, err := m.ln.Accept()
		if err != nil {
			return
		}
		go m.handle(c)
	}
}

func (m *marker) handle(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil || hdr[0] != 5 {
		return
	}
	if _, err := io.ReadFull(r, make([]byte, hdr[1])); err != nil {
		return
	}
	if _, err := c.Write([]byte{5, 0}); err != nil {
		return
	}
	var req [3]byte
	if _, err := io.ReadFull(r, req[:]); err != nil || (req[1] != 1 && req[1] != 3) {
		return
	}
	host, port, err := readAddr(r)
	if err != nil {
		return
	}
	if req[1] == 3 {
		m.associate(c, r)
		return
	}
	if _, err := c.Write([]byte{5, 0, 0, 1, 0, 0, 0, 0, 0, 0}); err != nil {
		return
	}
	fmt.Fprintf(c, "MARK %s %s %d\n", m.tag, host, port)
	// Wait for the client's close, so that sing-box relays the line before it sees an EOF.
	_, _ = io.Copy(io.Discard, r)
}

// associate answers UDP ASSOCIATE: every datagram to its relay socket is answered with one
// carrying "MARK tag host port\n" from the same address, until the control connection closes.
func (m *marker) associate(c net.Conn, r io.Reader) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return
	}
	defer pc.Close()
	port := pc.LocalAddr().(*net.UDPAddr).Port
	if _, err := c.Write([]byte{5, 0, 0, 1, 127, 0, 0, 1, byte(port >> 8), byte(port)}); err != nil {
		return
	}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 4 || buf[2] != 0 {
				continue
			}
			br := bytes.NewReader(buf[3:n])
			host, port, err := readAddr(br)
			if err != nil {
				continue
			}
			hdrLen := n - br.Len()
			reply := append(append([]byte{}, buf[:hdrLen]...), fmt.Sprintf("MARK %s %s %d\n", m.tag, host, port)...)
			_, _ = pc.WriteTo(reply, from)
		}
	}()
	_, _ = io.Copy(io.Discard, r)
}

// readAddr reads ATYP ADDR PORT.
func readAddr(r io.Reader) (string, int, error) {
	var atyp [1]byte
	if _, err := io.ReadFull(r, atyp[:]); err != nil {
		return "", 0, err
	}
	var host string
	switch atyp[0] {
	case 1, 4:
		b := make([]byte, map[byte]int{1: 4, 4: 16}[atyp[0]])
		if _, err := io.ReadFull(r, b); err != nil {
			return "", 0, err
		}
		host = net.IP(b).String()
	case 3:
		var n [1]byte
		if _, err := io.ReadFull(r, n[:]); err != nil {
			return "", 0, err
		}
		b := make([]byte, n[0])
		if _, err := io.ReadFull(r, b); err != nil {
			return "", 0, err
		}
		host = string(b)
	default:
		return "", 0, fmt.Errorf("bad address type %d", atyp[0])
	}
	var p [2]byte
	if _, err := io.ReadFull(r, p[:]); err != nil {
		return "", 0, err
	}
	return host, int(binary.BigEndian.Uint16(p[:])), nil
}

// outcome of one connection through sing-box: "marker:TAG" (the outbound chosen), "reject" (a
// SOCKS failure reply or a close before any reply: sing-box's reject, both methods), or an
// "error:..." the test cannot read as a decision (a timeout, a malformed answer).
type outcome struct {
	decision string
	seenHost string // "host port": the destination the marker was asked for
	srcPort  int
}

// ask connects from src (port srcPort, 0 = any) to the mixed inbound at proxyPort, authenticates
// as user when the inbound has users, asks for host:port and reads what comes back.
func ask(network string, proxyPort int, src string, srcPort int, user, pass, host string, port int, sniffHost string, timeout time.Duration) outcome {
	d := net.Dialer{
		Timeout:   timeout,
		LocalAddr: &net.TCPAddr{IP: net.ParseIP(src), Port: srcPort},
		Control: func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) {
				_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
			})
		},
	}
	c, err := d.Dial("tcp", "127.0.0.1:"+strconv.Itoa(proxyPort))
	if err != nil && srcPort != 0 { // the port is taken by someone else: any port will do
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(src)}
		c, err = d.Dial("tcp", "127.0.0.1:"+strconv.Itoa(proxyPort))
	}
	if err != nil {
		return outcome{decision: "error:dial " + err.Error()}
	}
	defer c.Close()
	o := outcome{srcPort: c.LocalAddr().(*net.TCPAddr).Port}
	_ = c.SetDeadline(time.Now().Add(timeout))
	if network == "udp" {
		o.decision, o.seenHost = converseUDP(c, src, user, pass, host, port, timeout)
	} else {
		o.decision, o.seenHost = converse(c, user, pass, host, port, sniffHost)
	}
	return o
}

// greet does the method negotiation and, for users, the username/password subnegotiation.
func greet(c net.Conn, r io.Reader, user, pass string) string {
	method := byte(0)
	if user != "" {
		method = 2
	}
	if _, err := c.Write([]byte{5, 1, method}); err != nil {
		return "error:greeting " + err.Error()
	}
	var sel [2]byte
	if _, err := io.ReadFull(r, sel[:]); err != nil {
		return "error:method " + err.Error()
	}
	if sel[1] != method {
		return fmt.Sprintf("error:method %d refused", method)
	}
	if user != "" {
		msg := append([]byte{1, byte(len(user))}, user...)
		msg = append(append(msg, byte(len(pass))), pass...)
		if _, err := c.Write(msg); err != nil {
			return "error:auth " + err.Error()
		}
		var st [2]byte
		if _, err := io.ReadFull(r, st[:]); err != nil || st[1] != 0 {
			return "error:auth failed"
		}
	}
	return ""
}

// socksAddr is ATYP ADDR PORT for host:port.
func socksAddr(host string, port int) []byte {
	var b []byte
	if ip := net.ParseIP(host); ip != nil && ip.To4() != nil && !strings.Contains(host, ":") {
		b = append([]byte{1}, ip.To4()...)
	} else if ip != nil {
		b = append([]byte{4}, ip.To16()...)
	} else {
		b = append([]byte{3, byte(len(host))}, host...)
	}
	return binary.BigEndian.AppendUint16(b, uint16(port))
}

// converseUDP asks for a UDP association and sends one datagram to host:port through it. A
// datagram back from a marker is sing-box's route; the control connection closed without one is
// its reject (sing-box routes the association at its first packet and closes it when rejected).
func converseUDP(c net.Conn, src, user, pass, host string, port int, timeout time.Duration) (string, string) {
	r := bufio.NewReader(c)
	if e := greet(c, r, user, pass); e != "" {
		return e, ""
	}
	if _, err := c.Write(append([]byte{5, 3, 0}, socksAddr("0.0.0.0", 0)...)); err != nil {
		return "error:associate " + err.Error(), ""
	}
	var rep [3]byte
	if _, err := io.ReadFull(r, rep[:]); err != nil || rep[1] != 0 {
		return fmt.Sprintf("error:associate refused (%v)", err), ""
	}
	relay, relayPort, err := readAddr(r)
	if err != nil {
		return "error:associate reply " + err.Error(), ""
	}
	uc, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(src)}, &net.UDPAddr{IP: net.ParseIP(relay), Port: relayPort})
	if err != nil {
		return "error:udp " + err.Error(), ""
	}
	defer uc.Close()
	_ = uc.SetDeadline(time.Now().Add(timeout))
	if _, err := uc.Write(append(append([]byte{0, 0, 0}, socksAddr(host, port)...), "hello"...)); err != nil {
		return "error:udp send " + err.Error(), ""
	}
	closed := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, r); close(closed) }()
	got := make(chan []byte, 1)
	go func() {
		buf := make([]byte, 65536)
		n, err := uc.Read(buf)
		if err != nil {
			n = 0
		}
		got <- buf[:n]
	}()
	select {
	case b := <-got:
		if len(b) == 0 {
			return "error:no datagram back and the association still open", ""
		}
		br := bytes.NewReader(b[min(3, len(b)):])
		if _, _, err := readAddr(br); err != nil {
			return "error:bad datagram " + err.Error(), ""
		}
		f := strings.Fields(string(b[len(b)-br.Len():]))
		if len(f) != 4 || f[0] != "MARK" {
			return "error:bad marker datagram", ""
		}
		return "marker:" + f[1], f[2] + " " + f[3]
	case <-closed:
		return "reject", ""
	}
}

func converse(c net.Conn, user, pass, host string, port int, sniffHost string) (string, string) {
	r := bufio.NewReader(c)
	if e := greet(c, r, user, pass); e != "" {
		return e, ""
	}
	if _, err := c.Write(append([]byte{5, 1, 0}, socksAddr(host, port)...)); err != nil {
		return "error:request " + err.Error(), ""
	}
	var rep [3]byte
	if _, err := io.ReadFull(r, rep[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
			return "reject", "" // closed before any reply
		}
		return "error:reply " + err.Error(), ""
	}
	if rep[1] != 0 {
		return "reject", ""
	}
	if _, _, err := readAddr(r); err != nil {
		return "error:reply address " + err.Error(), ""
	}
	// sing-box answers the request when the route first reads or writes: a sniff reads, so the
	// payload goes after the reply (sent together with the request, the sniff did not see it).
	if sniffHost != "" {
		if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: " + sniffHost + "\r\n\r\n")); err != nil {
			return "error:payload " + err.Error(), ""
		}
	}
	line, err := r.ReadString('\n')
	if err != nil {
		if line == "" && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
			return "reject", "" // a sniff answers the request first; a reject then closes
		}
		return "error:no marker line (" + err.Error() + ")", ""
	}
	f := strings.Fields(line)
	if len(f) != 4 || f[0] != "MARK" {
		return "error:bad marker line " + strconv.Quote(line), ""
	}
	return "marker:" + f[1], f[2] + " " + f[3]
}
