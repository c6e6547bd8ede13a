package cityhub

import (
	"embed"
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// creditCharset is the alphabet of the unified social credit code (GB 32100):
// digits and capitals without I, O, S, V and Z.
const creditCharset = "0123456789ABCDEFGHJKLMNPQRTUWXY"

var creditWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// CreditCodeCheckChar returns the check character for the first 17
// characters of a unified social credit code.
func CreditCodeCheckChar(first17 string) (byte, error) {
	if len(first17) != 17 {
		return 0, fmt.Errorf("need 17 characters, got %d", len(first17))
	}
	sum := 0
	for i := 0; i < 17; i++ {
		v := strings.IndexByte(creditCharset, first17[i])
		if v < 0 {
			return 0, fmt.Errorf("character %d %q is not allowed", i+1, first17[i])
		}
		sum += v * creditWeights[i]
	}
	return creditCharset[(31-sum%31)%31], nil
}

// ValidateCreditCode checks an 18-character unified social credit code,
// checksum included. It returns a reason suitable for a field error.
func ValidateCreditCode(code string) error {
	if n := utf8.RuneCountInString(code); n != 18 {
		return fmt.Errorf("must be 18 characters, got %d", n)
	}
	if len(code) != 18 { // 18 characters, some of them not ASCII
		return fmt.Errorf("only ASCII digits and capital letters are allowed (no full-width characters)")
	}
	want, err := CreditCodeCheckChar(code[:17])
	if err != nil {
		return err
	}
	if strings.IndexByte(creditCharset, code[17]) < 0 {
		return fmt.Errorf("character 18 %q is not allowed", code[17])
	}
	if code[17] != want {
		return fmt.Errorf("check character is %q, expected %q", code[17], want)
	}
	return nil
}

// Division is an administrative division of GB/T 2260.
type Division struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	Parent string `json:"parent,omitempty"`
	// Historic divisions were abolished; old records and IDs still carry them.
	Historic bool   `json:"historic,omitempty"`
	Note     string `json:"note,omitempty"`
}

// Level is "province", "city" or "county" from the code's shape.
func (d Division) Level() string {
	switch {
	case strings.HasSuffix(d.Code, "0000"):
		return "province"
	case strings.HasSuffix(d.Code, "00"):
		return "city"
	default:
		return "county"
	}
}

//go:embed divisions.tsv
var divisionsFS embed.FS

var divisions = sync.OnceValue(func() map[string]Division {
	data, err := divisionsFS.ReadFile("divisions.tsv")
	if err != nil {
		panic(err) // embedded at build time
	}
	out := map[string]Division{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		d := Division{Code: f[0], Name: f[1]}
		if len(f) > 2 && f[2] == "historic" {
			d.Historic = true
		}
		if len(f) > 3 {
			d.Note = f[3]
		}
		switch d.Level() {
		case "city":
			d.Parent = d.Code[:2] + "0000"
		case "county":
			d.Parent = d.Code[:4] + "00"
		}
		out[d.Code] = d
	}
	return out
})

// LookupDivision returns the division with code, historic ones included.
func LookupDivision(code string) (Division, bool) {
	d, ok := divisions()[code]
	return d, ok
}

// Divisions lists the shipped divisions whose code starts with prefix,
// sorted by code.
func Divisions(prefix string, includeHistoric bool) []Division {
	var out []Division
	for code, d := range divisions() {
		if strings.HasPrefix(code, prefix) && (includeHistoric || !d.Historic) {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}
