// Package bigevent makes an event about 1 MB in size as an SDK sends one,
// a deep recursion in a browser app: 250 frames with eight local
// variables each and 100 breadcrumbs with 4 KB of data, with markup in
// its strings for a page to escape. scripts/bigproject stores such events
// among a big project's, and the dashboard's benchmark renders one.
package bigevent

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
)

// Fill replaces ex's frames and ev's breadcrumbs, timed at, with the
// 1 MB shape.
func Fill(ev *event.Event, ex *event.Exception, at time.Time) {
	ex.Frames = nil
	for f := range 250 {
		vars := map[string]any{}
		for v := range 8 {
			vars[fmt.Sprintf("var%d", v)] = strings.Repeat(fmt.Sprintf("value %d of frame %d <b>&amp; ", v, f), 6)
		}
		raw, _ := json.Marshal(vars)
		ex.Frames = append(ex.Frames, event.Frame{Filename: fmt.Sprintf("/static/js/big-%d.js", f), Function: fmt.Sprintf("deep%d", f),
			Lineno: f + 1, Colno: 1, ContextLine: "  recurse(x);", Vars: raw})
	}
	ev.Breadcrumbs = nil
	for b := range 100 {
		data, _ := json.Marshal(map[string]string{"payload": strings.Repeat(fmt.Sprintf("crumb %d <script>x</script> ", b), 4096/30)})
		ev.Breadcrumbs = append(ev.Breadcrumbs, event.Breadcrumb{Timestamp: at, Category: "xhr", Level: "info",
			Message: fmt.Sprintf("POST /api/%d", b), Data: data})
	}
}
