package awsx

import "testing"

func TestSQSSafeJSON(t *testing.T) {
	tests := []struct {
		name, in, want string
		same           bool // the input slice itself is returned
	}{
		{"empty", "", "", true},
		{"plain", `{"a":"b"}`, `{"a":"b"}`, true},
		{"whitespace", "{\t\"a\":\r\n1}", "{\t\"a\":\r\n1}", true},
		{"multibyte", `"é 🐛 \ue000"`, `"é 🐛 \ue000"`, true},
		{"U+FFFD itself", "\"\ufffd\"", "\"\ufffd\"", true},
		{"U+FFFE", "\"\ufffe\"", `"\ufffe"`, false},
		{"U+FFFF", "\"x\uffffy\"", `"x\uffffy"`, false},
		{"control", "\"\x01\"", `"\u0001"`, false},
		{"invalid byte", "\"\xc3\"", `"\ufffd"`, false},
		{"surrogate bytes", "\"\xed\xa0\x80\"", `"\ufffd\ufffd\ufffd"`, false},
		{"mixed", "\"ok é\xff\uffff\"", `"ok é\ufffd\uffff"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			got := sqsSafeJSON(in)
			if string(got) != tt.want {
				t.Errorf("sqsSafeJSON(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if same := len(in) > 0 && &got[0] == &in[0]; same != tt.same && len(in) > 0 {
				t.Errorf("returned the input slice: %v, want %v", same, tt.same)
			}
		})
	}
}
