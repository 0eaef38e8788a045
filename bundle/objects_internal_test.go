package bundle

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestAppendJSONStringReadsBack(t *testing.T) {
	var all strings.Builder
	for c := range 0x80 {
		all.WriteByte(byte(c))
	}
	for _, s := range []string{"", "plain", all.String(), "café ☕ \u0085 \u2028 `tick` \"q\" \\", "line\nbreak\r\ttab"} {
		var got string
		if err := json.Unmarshal(appendJSONString([]byte("x"), []byte(s))[1:], &got); err != nil || got != s {
			t.Errorf("%q reads back as %q (%v)", s, got, err)
		}
	}
}
