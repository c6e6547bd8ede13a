package ngsild

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/cityhub/cityhub"
)

// createDevice names the device after its URN, numbering it when the
// name is taken. The store's unique index decides, so racing creators
// cannot take the same name.
func (h *Handler) createDevice(ctx context.Context, d *cityhub.Device) error {
	base := deviceName(d.EntityID)
	for i := 1; i <= 50; i++ {
		d.Name = base
		if i > 1 {
			d.Name = fmt.Sprintf("%s-%d", base, i)
		}
		_, err := h.devices.CreateDevice(ctx, d) // NGSI-LD clients do not use device tokens
		var e *cityhub.Error
		if !errors.As(err, &e) || e.Code != cityhub.ECONFLICT || e.Fields["name"] == "" {
			return err
		}
	}
	return cityhub.Errorf(cityhub.EINVALID, "no free device name near %q", base)
}

// deviceName is the last segment of a URN, fit for a device name (no
// spaces or MQTT wildcards; short enough to number).
func deviceName(urn string) string {
	segments := strings.Split(urn, ":")
	last := ""
	for i := len(segments) - 1; i >= 0 && last == ""; i-- {
		last = segments[i]
	}
	name := strings.Trim(strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune("/#+", r) {
			return '-'
		}
		return r
	}, last), "-")
	name = truncate(name, 90) // room for a number; names are at most 100 bytes
	if name == "" {
		return "entity"
	}
	return name
}

// divisionOf finds the district of a new device: a division attribute (a
// GB/T 2260 code or name) or the address's locality; none is fine.
func divisionOf(e *entity) (string, error) {
	if a, ok := e.Attrs["division"]; ok {
		s, _ := a.Value.(string)
		if code := lookupDivision(s); code != "" {
			return code, nil
		}
		return "", fmt.Errorf("division %q is not a GB/T 2260 code or district name the platform knows", clip(s))
	}
	if a, ok := e.Attrs["address"]; ok {
		addr, _ := a.Value.(map[string]any)
		locality, _ := addr["addressLocality"].(string)
		return lookupDivision(locality), nil
	}
	return "", nil
}

// lookupDivision takes a code, or a name that only one current division has.
func lookupDivision(s string) string {
	s = strings.TrimSpace(s)
	if d, ok := cityhub.LookupDivision(s); ok && !d.Historic {
		return d.Code
	}
	code := ""
	for _, d := range cityhub.Divisions("", false) {
		if d.Name == s {
			if code != "" {
				return "" // ambiguous
			}
			code = d.Code
		}
	}
	return code
}

func typeNames() []string {
	var names []string
	for _, t := range cityhub.DeviceTypes() {
		names = append(names, t.Name)
	}
	return names
}
