package ngsild_test

import (
	"net/http"
	"testing"

	"github.com/cityhub/cityhub"
)

// TestPublicAccountRefused: devices are staff business; a public (portal)
// account reads nothing from the context broker.
func TestPublicAccountRefused(t *testing.T) {
	pl := start(t)
	pl.users["citizen"] = &cityhub.User{ID: 9, Username: "citizen", Roles: []string{cityhub.RolePublic}}
	for _, path := range []string{"/ngsi-ld/v1/entities?type=AirQualityObserved", "/ngsi-ld/v1/types", "/ngsi-ld/v1/temporal/entities"} {
		pl.request(t, "GET", path, "", "Authorization", "Bearer citizen").problem(t, http.StatusForbidden, "")
	}
	pl.request(t, "GET", "/ngsi-ld/v1/types", "", "Authorization", "Bearer consumer").expect(t, http.StatusOK)
}
