package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	netmail "net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/getflytrap/flytrap/internal/store"
)

// SMTP sends email through an SMTP server with github.com/wneessen/go-mail.
type SMTP struct {
	host     string
	port     int
	implicit bool // smtps://: TLS from the first byte
	user     string
	pass     string
	auth     mail.SMTPAuthType
	from     string
	tls      *tls.Config
	timeout  time.Duration
}

// SMTPOptions tune an SMTP sender.
type SMTPOptions struct {
	// TLS, when not nil, is the TLS configuration (tests trust their own
	// CA with it); nil verifies the server's certificate for its host.
	TLS *tls.Config
	// Timeout bounds a connection (default 30 s).
	Timeout time.Duration
}

// NewSMTP parses an SMTP URL: smtp://[user:pass@]host[:port] uses
// STARTTLS when the server offers it (port 587 by default), and
// smtps://... TLS from the start (port 465 by default). The user and
// password, percent-encoded in the URL, authenticate with PLAIN unless
// ?auth= names another mechanism (login, cram-md5, scram-sha-256, ...);
// go-mail refuses to send them over an unencrypted connection except to
// localhost. from is the sender's address.
func NewSMTP(rawURL, from string, opts SMTPOptions) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url's error quotes the URL, password included.
		return nil, errors.New("the SMTP URL is not a valid URL (percent-encode special characters in the user and password)")
	}
	s := &SMTP{host: u.Hostname(), from: from, tls: opts.TLS, timeout: opts.Timeout, auth: mail.SMTPAuthPlain}
	switch u.Scheme {
	case "smtp":
		s.port = 587
	case "smtps":
		s.port, s.implicit = 465, true
	default:
		return nil, fmt.Errorf("SMTP URL %q: the scheme must be smtp:// (STARTTLS when offered) or smtps:// (TLS)", u.Redacted())
	}
	if s.host == "" {
		return nil, fmt.Errorf("SMTP URL %q has no host", u.Redacted())
	}
	if p := u.Port(); p != "" {
		if s.port, err = strconv.Atoi(p); err != nil || s.port <= 0 || s.port > 65535 {
			return nil, fmt.Errorf("SMTP URL %q: bad port %q", u.Redacted(), p)
		}
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
	}
	if a := u.Query().Get("auth"); a != "" {
		if err := s.auth.UnmarshalString(a); err != nil {
			return nil, fmt.Errorf("SMTP URL: auth=%s: %w", a, err)
		}
	}
	if _, err := netmail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("the sender address %q is not an email address, such as flytrap@example.com: %w", from, err)
	}
	if s.timeout <= 0 {
		s.timeout = 30 * time.Second
	}
	return s, nil
}

// Send mails e to each address in to, one message per address over one
// connection: a server refuses recipients one by one, and go-mail drops a
// message with every recipient when one is refused. It returns the
// addresses it settled: delivered, or refused for good (a 5xx answer to
// that address's message). The error is nil when all were delivered, a
// refusals error when the others were refused for good, and any other
// error when some address is worth another attempt (a 4xx, or a
// connection that failed).
func (s *SMTP) Send(ctx context.Context, to []string, e Email) ([]store.RecipientOutcome, error) {
	msgs := make([]*mail.Msg, len(to))
	for i, addr := range to {
		m := mail.NewMsg()
		if err := m.From(s.from); err != nil {
			return nil, permanent{fmt.Errorf("sender %q: %w", s.from, err)}
		}
		if err := m.To(addr); err != nil {
			return nil, permanent{fmt.Errorf("recipient %q: %w", addr, err)}
		}
		m.Subject(e.Subject)
		if link := e.unsubscribe[addr]; link != "" {
			// RFC 8058's one-click POST is for https links only; a
			// server on plain HTTP (flytrap dev on a LAN) offers the
			// RFC 2369 link, which the mail client opens.
			if err := m.SetListUnsubscribeOneClick(link); err != nil {
				m.SetListUnsubscribe(link)
			}
		}
		m.SetMessageIDWithValue(messageID(e.Key, s.from))
		m.SetDate()
		m.SetBodyString(mail.TypeTextPlain, e.Text)
		m.AddAlternativeString(mail.TypeTextHTML, e.HTML)
		msgs[i] = m
	}

	opts := []mail.Option{mail.WithPort(s.port), mail.WithTimeout(s.timeout)}
	if s.implicit {
		opts = append(opts, mail.WithSSL())
	} else {
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	}
	if s.tls != nil {
		c := s.tls.Clone()
		if c.ServerName == "" {
			c.ServerName = s.host
		}
		opts = append(opts, mail.WithTLSConfig(c))
	}
	if s.user != "" {
		opts = append(opts, mail.WithSMTPAuth(s.auth), mail.WithUsername(s.user), mail.WithPassword(s.pass))
	}
	c, err := mail.NewClient(s.host, opts...)
	if err != nil {
		return nil, permanent{fmt.Errorf("SMTP client: %w", err)}
	}
	sendErr := c.DialAndSendWithContext(ctx, msgs...)
	// go-mail sets a message's error when it tried it: an error that no
	// message carries is the connection's, before any was sent.
	tried := sendErr == nil || slices.ContainsFunc(msgs, (*mail.Msg).HasSendError)
	var (
		settled []store.RecipientOutcome
		refused refusals
		retry   = !tried
	)
	for i, m := range msgs {
		var se *mail.SendError
		switch {
		case !tried:
		case !m.HasSendError():
			settled = append(settled, store.RecipientOutcome{Address: to[i]})
		case errors.As(m.SendError(), &se) && se.ErrorCode() >= 500 && !errors.Is(se, &mail.SendError{Reason: mail.ErrSMTPMailFrom}):
			// A 5xx to this message concerns its one recipient; one to
			// MAIL FROM concerns the sender, so every message.
			r := store.RecipientOutcome{Address: to[i], Error: oneLine(m.SendError().Error(), 300)}
			settled, refused = append(settled, r), append(refused, r)
		default:
			retry = true
		}
	}
	switch {
	case retry:
		return settled, fmt.Errorf("SMTP %s:%d: %w", s.host, s.port, sendErr)
	case len(refused) > 0:
		return settled, refused
	}
	return settled, nil
}

// refusals is the error of recipients the mail server refused for good.
type refusals []store.RecipientOutcome

func (r refusals) Error() string {
	parts := make([]string, len(r))
	for i, x := range r {
		parts[i] = x.Address + ": " + x.Error
	}
	return "the mail server refused " + strings.Join(parts, "; ")
}

// messageID turns an idempotency key into a Message-ID: a resend of the
// same notification carries the same one.
func messageID(key, from string) string {
	domain := "flytrap.local"
	if _, d, ok := strings.Cut(from, "@"); ok && d != "" {
		domain = d
	}
	local := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return '.'
	}, key)
	return local + "@" + domain
}
