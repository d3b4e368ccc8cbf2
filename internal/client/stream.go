package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/coder/websocket"

	"github.com/getflytrap/flytrap/internal/livemsg"
)

// StatusFellBehind is the close code the server ends a stream with when
// the client read too slowly and messages were not delivered; the client
// should fill the gap from Feed. It matches internal/live's.
const StatusFellBehind websocket.StatusCode = 4000

// Stream is an open live stream (GET /api/v1/stream).
type Stream struct {
	conn *websocket.Conn
}

// maxStreamMessage bounds one message; the server's are under 8 KB.
const maxStreamMessage = 64 << 10

// Stream opens the live stream of projectIDs (every visible project when
// empty). Messages published after it returns are all delivered, or the
// stream ends with an error.
func (c *Client) Stream(ctx context.Context, projectIDs []int64) (*Stream, error) {
	u := *c.base
	u.Scheme = strings.Replace(u.Scheme, "http", "ws", 1)
	u.Path += "/api/v1/stream"
	q := url.Values{}
	for _, p := range projectIDs {
		q.Add("project", id(p))
	}
	u.RawQuery = q.Encode()
	h := http.Header{}
	h.Set("Authorization", "Bearer "+c.token)
	h.Set("User-Agent", "flytrap-cli")
	// The client's timeout would end a stream that lives for hours.
	hc := *c.http
	hc.Timeout = 0
	conn, resp, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{HTTPClient: &hc, HTTPHeader: h})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if resp != nil && resp.StatusCode >= 300 {
			// coder/websocket has kept the body's first KB in memory:
			// the server's message says why (too many streams open)
			// and Retry-After how long to wait.
			raw, _ := io.ReadAll(resp.Body)
			e := answerError(resp, raw, c.now())
			if e.Code == "" {
				e.Code = statusCode(resp.StatusCode)
			}
			if e.Message == "" {
				e.Message = fmt.Sprintf("live stream refused: HTTP %d", resp.StatusCode)
			}
			return nil, e
		}
		var re *RedirectError
		if errors.As(err, &re) {
			return nil, re
		}
		return nil, &UnreachableError{URL: c.base.String(), Err: err}
	}
	conn.SetReadLimit(maxStreamMessage)
	return &Stream{conn: conn}, nil
}

// statusCode is the API error code of a refused handshake's status.
func statusCode(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not_found"
	}
	return ""
}

// Next returns the next message. The error of a stream the server closed
// carries its close code (websocket.CloseStatus).
func (s *Stream) Next(ctx context.Context) (livemsg.Message, error) {
	for {
		typ, b, err := s.conn.Read(ctx)
		if err != nil {
			return livemsg.Message{}, err
		}
		if typ != websocket.MessageText {
			continue
		}
		var m livemsg.Message
		if err := json.Unmarshal(b, &m); err != nil {
			return livemsg.Message{}, fmt.Errorf("client: live message: %w", err)
		}
		return m, nil
	}
}

// Close ends the stream.
func (s *Stream) Close() error { return s.conn.Close(websocket.StatusNormalClosure, "") }

// IsCloseStatus reports whether err ended a stream with the close code.
func IsCloseStatus(err error, code websocket.StatusCode) bool {
	return err != nil && websocket.CloseStatus(err) == code
}
