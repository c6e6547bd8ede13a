package tabular

import (
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

func TestLooksUTF8(t *testing.T) {
	s := []byte("中文")
	if !looksUTF8(s[:4], false) || looksUTF8(s[:4], true) || !looksUTF8(s, true) {
		t.Error("a rune cut at the window's end must not count as invalid, unless at EOF")
	}
	for _, text := range []string{"中文", "联通", "信息资源名称,信息资源提供方", "宁波市政务信息资源目录（2026年）"} {
		gb, _ := simplifiedchinese.GB18030.NewEncoder().String(text)
		if looksUTF8([]byte(gb+",more"), false) {
			t.Errorf("GB18030 %s taken for UTF-8", text)
		}
	}
	// A damaged UTF-8 file: far more valid characters than bad bytes.
	if !looksUTF8([]byte("信息资源名称,信息资源提供方,信息资源摘要,更新周期\xb2"), true) {
		t.Error("UTF-8 with a bad byte later taken for GB18030")
	}
}
