package cityhub

import "strings"

// DefaultMask is the mask rule for a sensitive item's values: by its
// validator (IDs, phone numbers), else by its name (names, addresses), else
// keep the first and last character.
func DefaultMask(it DataItem) string {
	switch v := it.ValidatorName(); v {
	case "citizen_id", "mobile":
		return v
	case "phone":
		return "keep:3:2"
	}
	switch name := it.Name; {
	case strings.Contains(name, "姓名") || strings.EqualFold(it.Code, "name") && strings.Contains(name, "名"):
		return "name"
	case strings.Contains(name, "地址") || strings.Contains(name, "住址") || strings.Contains(name, "住所"):
		return "address"
	}
	return "keep:1:1"
}
