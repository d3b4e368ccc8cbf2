// Package notifytest provides an SMTP server for tests of alert email: a
// real SMTP implementation (github.com/emersion/go-smtp) that requires
// AUTH PLAIN, offers STARTTLS when given a TLS configuration, and keeps
// every message it accepts.
package notifytest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one accepted message.
type Message struct {
	From string
	To   []string
	Data []byte
	// User is who authenticated; TLS is whether the session was encrypted
	// (STARTTLS) when the message was sent.
	User string
	TLS  bool
}

// SMTPOptions configure a Sink.
type SMTPOptions struct {
	// User and Password are the only credentials AUTH PLAIN accepts; empty
	// User accepts mail without AUTH.
	User, Password string
	// TLS, when not nil, makes the server offer STARTTLS, or with
	// Implicit speak TLS from the first byte (smtps://).
	TLS      *tls.Config
	Implicit bool
	// Fail, when not nil, is called for each message; an error refuses it
	// with a temporary failure (451).
	Fail func(Message) error
	// Rcpt, when not nil, is called for each RCPT TO; the error it returns
	// (an *smtp.SMTPError to choose the code) refuses the recipient.
	Rcpt func(to string) error
}

// Sink is a running SMTP server.
type Sink struct {
	// Addr is host:port.
	Addr string
	opts SMTPOptions
	srv  *smtp.Server

	mu   sync.Mutex
	msgs []Message
	more chan struct{}
}

// StartSMTP starts a sink on 127.0.0.1 and stops it when t ends.
func StartSMTP(t testing.TB, opts SMTPOptions) *Sink {
	t.Helper()
	s, err := Listen("127.0.0.1:0", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Listen starts a sink on addr.
func Listen(addr string, opts SMTPOptions) (*Sink, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	starttls := opts.TLS
	if opts.Implicit {
		ln, starttls = tls.NewListener(ln, opts.TLS), nil
	}
	s := &Sink{Addr: ln.Addr().String(), opts: opts, more: make(chan struct{}, 1)}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{sink: s, conn: c}, nil
	}))
	s.srv.Domain = "localhost"
	s.srv.TLSConfig = starttls
	s.srv.AllowInsecureAuth = opts.TLS == nil
	s.srv.ReadTimeout, s.srv.WriteTimeout = 10*time.Second, 10*time.Second
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops the server.
func (s *Sink) Close() error { return s.srv.Close() }

// Messages returns the messages accepted so far.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Wait returns once n messages have been accepted, or fails t after
// timeout.
func (s *Sink) Wait(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if m := s.Messages(); len(m) >= n {
			return m
		}
		select {
		case <-s.more:
		case <-deadline:
			t.Fatalf("SMTP sink: %d messages after %v, want %d", len(s.Messages()), timeout, n)
		}
	}
}

type session struct {
	sink *Sink
	conn *smtp.Conn
	user string
	msg  Message
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.sink.opts.User || pass != s.sink.opts.Password {
			return errors.New("invalid credentials")
		}
		s.user = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.sink.opts.User != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.msg = Message{From: from, User: s.user}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if f := s.sink.opts.Rcpt; f != nil {
		if err := f(to); err != nil {
			return err
		}
	}
	s.msg.To = append(s.msg.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.msg.Data = b
	_, s.msg.TLS = s.conn.TLSConnectionState()
	if f := s.sink.opts.Fail; f != nil {
		if err := f(s.msg); err != nil {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: err.Error()}
		}
	}
	s.sink.mu.Lock()
	s.sink.msgs = append(s.sink.msgs, s.msg)
	s.sink.mu.Unlock()
	select {
	case s.sink.more <- struct{}{}:
	default:
	}
	return nil
}

func (s *session) Reset()        { s.msg = Message{} }
func (s *session) Logout() error { return nil }

// TLSPair returns a server configuration with a certificate for 127.0.0.1
// and localhost, and a client configuration that trusts it (the test
// certificate of net/http/httptest).
func TLSPair() (server, client *tls.Config) {
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS()
	defer ts.Close()
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	return &tls.Config{Certificates: ts.TLS.Certificates}, &tls.Config{RootCAs: pool}
}
