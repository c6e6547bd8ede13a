package cityhub_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cityhub/cityhub"
)

func TestMaskCitizenID(t *testing.T) {
	for in, want := range map[string]string{
		"33020319900101123X":   "330203********123X",
		" 33020319900101123x ": "330203********123x",
		"330203900101123":      "330203*****1123",
		"1234567890":           "**********",
		"12345678901":          "123456*8901",
		"":                     "",
	} {
		if got := cityhub.MaskCitizenID(in); got != want {
			t.Errorf("MaskCitizenID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMaskMobile(t *testing.T) {
	for in, want := range map[string]string{
		"13812345678":       "138****5678",
		"+86 138-1234-5678": "138****5678",
		"8613812345678":     "138****5678",
		"0574-87654321":     "057******4321",
		"1381234":           "*******",
		"":                  "",
	} {
		if got := cityhub.MaskMobile(in); got != want {
			t.Errorf("MaskMobile(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMaskName(t *testing.T) {
	for in, want := range map[string]string{
		"张":          "*",
		"张三":         "张*",
		"张小三":        "张*三",
		"欧阳娜娜":       "欧**娜",
		"阿卜杜拉·买买提":   "阿******提",
		" 李四 ":       "李*",
		"John Smith": "J********h",
		"":           "",
	} {
		if got := cityhub.MaskName(in); got != want {
			t.Errorf("MaskName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMaskAddress(t *testing.T) {
	for in, want := range map[string]string{
		"浙江省宁波市海曙区中山西路138号":          "浙江省宁波市海曙区****",
		"宁波市鄞州区首南街道天童南路588号":         "宁波市鄞州区****",
		"浙江省宁波市象山县丹城镇靖南大街1号":         "浙江省宁波市象山县****",
		"浙江省慈溪市坎墩街道":                 "浙江省慈溪市****",
		"余姚市阳明街道新建路1号":               "余姚市****",
		"北京市朝阳区建国路88号":               "北京市朝阳区****",
		"上海市浦东新区世纪大道100号":            "上海市浦东新区****",
		"广东省广州市天河区天河路1号":             "广东省广州市天河区****",
		"北京市通州区新华大街1号":               "北京市通州区****",
		"新疆维吾尔自治区乌鲁木齐市天山区解放北路1号":     "新疆维吾尔自治区乌鲁木齐市天山区****",
		"内蒙古自治区鄂尔多斯市伊金霍洛旗阿勒腾席热镇":     "内蒙古自治区鄂尔多斯市伊金霍洛旗****",
		"吉林省延边朝鲜族自治州延吉市人民路1号":        "吉林省延边朝鲜族自治州延吉市****",
		"西藏自治区阿里地区噶尔县狮泉河镇":           "西藏自治区阿里地区噶尔县****",
		"山东省济南市市中区经四路1号":             "山东省济南市市中区****",
		"浙江省 宁波市 海曙区 中山西路138号":       "浙江省 宁波市 海曙区****",
		"宁波市镇海区骆驼街道":                 "宁波市镇海区****",
		"宁波市海曙区":                     "宁波市海曙区",
		"宁波市市场路10号":                  "宁波市****",
		"宁波市中山路某某小区3幢":               "宁波市****",
		"宁波市幸福社区":                    "宁波市****",
		"中山西路138号":                   "****",
		"Room 1, 138 Zhongshan Road": "****",
		"浙江省台州市路桥区路桥街道":              "浙江省台州市****", // 路 stops: masked more, not less
		"": "",
	} {
		if got := cityhub.MaskAddress(in); got != want {
			t.Errorf("MaskAddress(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMaskKeep(t *testing.T) {
	tests := []struct {
		s           string
		first, last int
		want        string
	}{
		{"abcdefgh", 2, 3, "ab***fgh"},
		{"宁波市海曙区", 2, 1, "宁波***区"},
		{"abc", 1, 1, "a*c"},
		{"abc", 2, 1, "***"},
		{"abc", 3, 0, "***"},
		{"abc", 0, 0, "***"},
		{"abc", -1, -5, "***"},
		{"abcdef", 1 << 62, 1 << 62, "******"},
		{"abcdef", 0, 2, "****ef"},
		{"a\xffb\xfec", 1, 1, "a***c"},
		{"", 3, 4, ""},
	}
	for _, tt := range tests {
		if got := cityhub.MaskKeep(tt.s, tt.first, tt.last); got != tt.want {
			t.Errorf("MaskKeep(%q, %d, %d) = %q, want %q", tt.s, tt.first, tt.last, got, tt.want)
		}
	}
	if got := cityhub.MaskAll("宁波市海曙区中山西路"); got != "****" {
		t.Errorf("MaskAll = %q", got)
	}
	if got := cityhub.MaskAll(" "); got != "" {
		t.Errorf("MaskAll of space = %q", got)
	}
}

func TestMask(t *testing.T) {
	tests := []struct{ rule, s, want string }{
		{"", "13812345678", "13812345678"},
		{"all", "13812345678", "****"},
		{"citizen_id", "33020319900101123X", "330203********123X"},
		{"mobile", "13812345678", "138****5678"},
		{"name", "张小三", "张*三"},
		{"address", "宁波市海曙区中山西路138号", "宁波市海曙区****"},
		{"keep:3:4", "13812345678", "138****5678"},
		{"keep:0:4", "33020319900101123X", "**************123X"},
		{"keep:1:0", "张三", "张*"},
		{"unknown", "13812345678", "****"},
		{"keep:3", "13812345678", "****"},
		{"keep:-1:2", "13812345678", "****"},
		{"keep:0:0", "13812345678", "****"},
		{"Mobile", "13812345678", "****"},
	}
	for _, tt := range tests {
		if got := cityhub.Mask(tt.rule, tt.s); got != tt.want {
			t.Errorf("Mask(%q, %q) = %q, want %q", tt.rule, tt.s, got, tt.want)
		}
		f, err := cityhub.MaskFunc(tt.rule)
		if err != nil {
			if got := cityhub.Mask(tt.rule, tt.s); got != "****" {
				t.Errorf("invalid rule %q: Mask gives %q, want ****", tt.rule, got)
			}
			continue
		}
		if got := f(tt.s); got != tt.want {
			t.Errorf("MaskFunc(%q)(%q) = %q, want %q", tt.rule, tt.s, got, tt.want)
		}
	}
	for _, rule := range []string{"", "all", "citizen_id", "mobile", "name", "address", "keep:3:4", "keep:0:1", "keep:1000:0"} {
		if err := cityhub.ValidMaskRule(rule); err != nil {
			t.Errorf("ValidMaskRule(%q): %v", rule, err)
		}
	}
	for _, rule := range []string{"ALL", "keep", "keep:", "keep:1", "keep:a:1", "keep:1:b", "keep:-1:1", "keep:1:-1",
		"keep:0:0", "keep:1001:0", "keep:+1:1", "keep:1:2:3", "mask", " name"} {
		if err := cityhub.ValidMaskRule(rule); err == nil {
			t.Errorf("ValidMaskRule(%q): got no error", rule)
		}
	}
	for _, term := range cityhub.MaskRules {
		if err := cityhub.ValidMaskRule(term.Code); err != nil {
			t.Errorf("MaskRules has %q: %v", term.Code, err)
		}
	}
}

func FuzzMask(f *testing.F) {
	for _, s := range []string{"33020319900101123X", "13812345678", "张小三", "浙江省宁波市海曙区中山西路138号", "a\xffb", ""} {
		f.Add("keep:3:4", s)
		f.Add("address", s)
	}
	rules := []string{"", "all", "citizen_id", "mobile", "name", "address", "keep:3:4", "keep:1:0", "keep:0:2"}
	f.Fuzz(func(t *testing.T, rule, s string) {
		got := cityhub.Mask(rule, s) // never panics, whatever the rule
		if cityhub.ValidMaskRule(rule) != nil && got != "" && got != "****" {
			t.Fatalf("invalid rule %q: %q → %q", rule, s, got)
		}
		for _, rule := range rules {
			got := cityhub.Mask(rule, s)
			trimmed := strings.Trim(s, " \t\n\v\f\r\u00a0\u3000\ufeff") // as the package trims
			switch rule {
			case "":
				if got != s {
					t.Fatalf("no mask changed %q to %q", s, got)
				}
			case "address":
				// Keeps a prefix of the address at most.
				if p := strings.TrimSuffix(got, "****"); got != trimmed && !strings.HasPrefix(trimmed, p) {
					t.Fatalf("address %q → %q", s, got)
				}
			default:
				// Something is always masked; keep rules keep the length.
				if trimmed != "" && !strings.Contains(got, "*") {
					t.Fatalf("rule %q: %q → %q masks nothing", rule, s, got)
				}
				if strings.HasPrefix(rule, "keep:") && utf8.RuneCountInString(got) != utf8.RuneCountInString(trimmed) {
					t.Fatalf("rule %q: %q → %q", rule, s, got)
				}
			}
		}
	})
}

func BenchmarkMask(b *testing.B) {
	for _, bc := range []struct{ rule, s string }{
		{"citizen_id", "33020319900101123X"},
		{"mobile", "13812345678"},
		{"name", "张小三"},
		{"address", "浙江省宁波市海曙区中山西路138号"},
		{"keep:3:4", "91110000600037341L"},
	} {
		f, err := cityhub.MaskFunc(bc.rule)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.rule, func(b *testing.B) {
			for b.Loop() {
				_ = f(bc.s)
			}
		})
	}
}
