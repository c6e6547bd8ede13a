package ngsild

import "strings"

// eval follows the term's path into the values and tests what it finds.
func (t *term) eval(values document) bool {
	var v any = values
	for _, key := range t.path {
		var m map[string]any
		switch x := v.(type) {
		case document:
			m = x
		case map[string]any:
			m = x
		default:
			return false
		}
		if v = m[key]; v == nil {
			return false // absent attributes match no condition
		}
	}
	switch t.op {
	case "":
		return true
	case "!=":
		return !t.any(v, "==")
	case "!~=":
		return !t.any(v, "~=")
	}
	return t.any(v, t.op)
}

// any tests a value, or each element of a list value.
func (t *term) any(v any, op string) bool {
	if list, ok := v.([]any); ok {
		for _, el := range list {
			if t.test(el, op) {
				return true
			}
		}
		return false
	}
	return t.test(v, op)
}

func (t *term) test(v any, op string) bool {
	switch op {
	case "~=":
		s, ok := v.(string)
		return ok && t.val.re.MatchString(s)
	case "==":
		switch {
		case t.val.list != nil:
			for _, x := range t.val.list {
				if c, ok := compare(v, x); ok && c == 0 {
					return true
				}
			}
			return false
		case t.val.lo != nil:
			lo, ok1 := compare(v, t.val.lo)
			hi, ok2 := compare(v, t.val.hi)
			return ok1 && ok2 && lo >= 0 && hi <= 0
		}
	}
	c, ok := compare(v, t.val.one)
	if _, isBool := v.(bool); !ok || isBool && op != "==" {
		return false // booleans are equal or not; they have no order
	}
	switch op {
	case "==":
		return c == 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	case "<":
		return c < 0
	}
	return c <= 0 // "<="
}

// compare orders two numbers or two strings; booleans only compare equal
// or not. ok is false for values of different kinds.
func compare(a, b any) (int, bool) {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		switch {
		case !ok:
			return 0, false
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	case string:
		y, ok := b.(string)
		return strings.Compare(x, y), ok
	case bool:
		y, ok := b.(bool)
		if !ok {
			return 0, false
		}
		if x == y {
			return 0, true
		}
		return 1, true
	}
	return 0, false
}
