package mqttbridge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cityhub/cityhub"
)

// What a subscription's device key is.
const (
	KeyName     = "name"      // the device's name (default)
	KeyEntityID = "entity_id" // its NGSI-LD entity id, urn:ngsi-ld:<Type>:<name>
	KeyID       = "id"        // its numeric id
)

// Payload formats.
const (
	// FormatThingsBoard is ThingsBoard telemetry: {"k":v,…}, {"ts":ms,
	// "values":{…}}, or an array of either.
	FormatThingsBoard = "thingsboard"
	// FormatAttributes is one flat object of device attributes (firmware,
	// address, …), merged into the device as ThingsBoard client attributes.
	FormatAttributes = "attributes"
)

// Config says which broker to connect to and what to take from it. It is
// read from JSON (see Load); Validate fills in defaults.
type Config struct {
	// Broker is the broker's URL: tcp://host:1883 (mqtt:// alike) or
	// ssl://host:8883 (tls://, mqtts:// alike). The port defaults to 1883
	// or 8883.
	Broker string `json:"broker"`
	// ClientID names the bridge's session at the broker. It must be stable
	// across restarts: the broker keeps the session (and queues QoS 1
	// messages) under it while the bridge is away.
	ClientID string `json:"client_id"`
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// CAFile holds PEM certificates to trust instead of the system's;
	// CertFile and KeyFile a client certificate. TLS brokers only.
	CAFile             string `json:"ca_file,omitempty"`
	CertFile           string `json:"cert_file,omitempty"`
	KeyFile            string `json:"key_file,omitempty"`
	InsecureSkipVerify bool   `json:"insecure_skip_verify,omitempty"`
	// CleanSession drops the session on every connect. Off by default, so
	// QoS 1 messages published while the bridge is away are delivered when
	// it is back.
	CleanSession bool `json:"clean_session,omitempty"`
	// KeepAlive is the MQTT keep-alive; 30s.
	KeepAlive Duration `json:"keep_alive,omitempty"`
	// MaxReconnectInterval caps the backoff between connection attempts; 1m.
	MaxReconnectInterval Duration       `json:"max_reconnect_interval,omitempty"`
	Subscriptions        []Subscription `json:"subscriptions"`
}

// A Subscription is one topic filter and how its messages map to devices.
// The device comes from exactly one of Template, DeviceLevel and Device.
type Subscription struct {
	// Name labels the subscription in Status; the topic by default.
	Name string `json:"name,omitempty"`
	// Topic is the MQTT topic filter; it may hold the wildcards + and #.
	Topic string `json:"topic"`
	// QoS is 0 or 1; 1 when omitted from JSON. A QoS 1 message is
	// acknowledged once its readings are durable.
	QoS int `json:"qos"`
	// Template names the topic's levels, one {device} among them:
	// city/{district}/air/{device}. It has the filter's levels: a
	// placeholder (or +) where the filter has +, the filter's own text
	// where it has text, # where it has #.
	Template string `json:"template,omitempty"`
	// DeviceLevel is the level holding the device key, counting from 1:
	// 4 for the device in city/+/air/+.
	DeviceLevel int `json:"device_level,omitempty"`
	// Device is the one device every message of the topic belongs to.
	Device string `json:"device,omitempty"`
	// Key says what the device key (or Device) is: name (default),
	// entity_id or id.
	Key string `json:"key,omitempty"`
	// Format is the payload's: thingsboard (default) or attributes.
	Format string `json:"format,omitempty"`
}

// UnmarshalJSON reads a subscription, refusing unknown fields and taking
// QoS 1 when qos is left out.
func (s *Subscription) UnmarshalJSON(b []byte) error {
	type plain Subscription
	p := plain{QoS: 1}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&p); err != nil {
		return err
	}
	*s = Subscription(p)
	return nil
}

// Duration is a time.Duration written in JSON as "30s" or "1m".
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf(`want a duration such as "30s", got %s`, b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf(`want a duration such as "30s", got %q`, s)
	}
	*d = Duration(v)
	return nil
}

// Load reads a bridge configuration from a JSON file and validates it.
func Load(path string) (Config, error) {
	var c Config
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("mqtt bridge config: %w", err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		return c, fmt.Errorf("mqtt bridge config %s: %w", path, err)
	}
	if d.More() {
		return c, fmt.Errorf("mqtt bridge config %s: data after the JSON object", path)
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("mqtt bridge config %s: %w", path, err)
	}
	return c, nil
}

// Validate fills in defaults and checks the configuration; its error is a
// cityhub EINVALID error naming each offending field, such as
// subscriptions[0].template.
func (c *Config) Validate() error {
	fe := cityhub.FieldErrors{}
	c.Broker = strings.TrimSpace(c.Broker)
	tlsBroker := false
	if c.Broker == "" {
		fe.Add("broker", "required: tcp://host:1883 or ssl://host:8883")
	} else if _, secure, err := brokerAddr(c.Broker); err != nil {
		fe.Add("broker", err.Error())
	} else {
		tlsBroker = secure
	}
	if strings.TrimSpace(c.ClientID) == "" {
		fe.Add("client_id", "required: a stable id, so the broker keeps the session while the bridge is away")
	} else if len(c.ClientID) > 256 {
		fe.Add("client_id", "at most 256 bytes")
	}
	if c.Password != "" && c.Username == "" {
		fe.Add("password", "needs a username (MQTT 3.1.1)")
	}
	if !tlsBroker && c.Broker != "" {
		for field, set := range map[string]bool{"ca_file": c.CAFile != "", "cert_file": c.CertFile != "",
			"key_file": c.KeyFile != "", "insecure_skip_verify": c.InsecureSkipVerify} {
			if set {
				fe.Add(field, "only for a TLS broker (ssl://, tls:// or mqtts://)")
			}
		}
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		fe.Add("cert_file", "cert_file and key_file go together")
	}
	switch {
	case c.KeepAlive == 0:
		c.KeepAlive = Duration(30 * time.Second)
	case c.KeepAlive < Duration(time.Second) || c.KeepAlive > Duration(18*time.Hour):
		fe.Add("keep_alive", "between 1s and 18h")
	}
	switch {
	case c.MaxReconnectInterval == 0:
		c.MaxReconnectInterval = Duration(time.Minute)
	case c.MaxReconnectInterval < Duration(time.Second):
		fe.Add("max_reconnect_interval", "at least 1s")
	}
	if len(c.Subscriptions) == 0 {
		fe.Add("subscriptions", "at least one")
	}
	topics, names := map[string]int{}, map[string]int{}
	for i := range c.Subscriptions {
		s := &c.Subscriptions[i]
		s.validate(fmt.Sprintf("subscriptions[%d].", i), fe)
		if j, dup := topics[s.Topic]; dup && s.Topic != "" {
			fe.Add(fmt.Sprintf("subscriptions[%d].topic", i), fmt.Sprintf("the same filter as subscriptions[%d]", j))
		}
		topics[s.Topic] = i
		if j, dup := names[s.Name]; dup && s.Name != "" {
			fe.Add(fmt.Sprintf("subscriptions[%d].name", i), fmt.Sprintf("the same name as subscriptions[%d]", j))
		}
		names[s.Name] = i
	}
	return fe.Err("invalid MQTT bridge configuration")
}

// brokerAddr returns the broker URL's host:port and whether it is TLS.
func brokerAddr(broker string) (addr string, secure bool, err error) {
	u, err := url.Parse(broker)
	if err != nil || u.Host == "" {
		return "", false, fmt.Errorf("%q is not a URL such as tcp://host:1883", broker)
	}
	port := "1883"
	switch u.Scheme {
	case "tcp", "mqtt":
	case "ssl", "tls", "mqtts":
		secure, port = true, "8883"
	default:
		return "", false, fmt.Errorf("scheme %q: want tcp://, mqtt://, ssl://, tls:// or mqtts://", u.Scheme)
	}
	if u.User != nil {
		return "", false, fmt.Errorf("put the user name and password in username and password, not in the URL")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", false, fmt.Errorf("want only scheme, host and port, as tcp://host:1883")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", false, fmt.Errorf("port %q is not 1–65535", p)
		}
		port = p
	}
	if u.Hostname() == "" {
		return "", false, fmt.Errorf("%q has no host", broker)
	}
	return net.JoinHostPort(u.Hostname(), port), secure, nil
}

var placeholder = regexp.MustCompile(`^\{([a-z_][a-z0-9_]*)\}$`)

func (s *Subscription) validate(at string, fe cityhub.FieldErrors) {
	if s.Name == "" {
		s.Name = s.Topic
	}
	if s.Key == "" {
		s.Key = KeyName
	}
	if s.Format == "" {
		s.Format = FormatThingsBoard
	}
	filter, err := parseFilter(s.Topic)
	if err != nil {
		fe.Add(at+"topic", err.Error())
	}
	if s.QoS != 0 && s.QoS != 1 {
		fe.Add(at+"qos", "0 or 1 (QoS 1 is acknowledged once stored; QoS 2 is not supported)")
	}
	switch s.Key {
	case KeyName, KeyEntityID, KeyID:
	default:
		fe.Add(at+"key", "name, entity_id or id")
	}
	switch s.Format {
	case FormatThingsBoard, FormatAttributes:
	default:
		fe.Add(at+"format", "thingsboard or attributes")
	}
	ways := 0
	for _, set := range []bool{s.Template != "", s.DeviceLevel != 0, s.Device != ""} {
		if set {
			ways++
		}
	}
	switch {
	case ways == 0:
		fe.Add(at+"template", "one of template, device_level or device is required")
		return
	case ways > 1:
		fe.Add(at+"template", "only one of template, device_level or device")
		return
	}
	switch {
	case s.Device != "":
		if s.Key == KeyID {
			if n, err := strconv.ParseInt(s.Device, 10, 64); err != nil || n <= 0 {
				fe.Add(at+"device", "with key id, a device's numeric id")
			}
		}
	case s.DeviceLevel != 0:
		if err == nil {
			if _, err := deviceLevel(filter, s.DeviceLevel); err != nil {
				fe.Add(at+"device_level", err.Error())
			}
		}
	default:
		if err == nil {
			if _, err := templateLevel(filter, s.Template); err != nil {
				fe.Add(at+"template", err.Error())
			}
		}
	}
}

// parseFilter splits a topic filter into its levels and checks it.
func parseFilter(topic string) ([]string, error) {
	switch {
	case topic == "":
		return nil, fmt.Errorf("required")
	case len(topic) > 65535:
		return nil, fmt.Errorf("longer than 65,535 bytes")
	case strings.ContainsRune(topic, 0):
		return nil, fmt.Errorf("may not contain NUL")
	}
	levels := strings.Split(topic, "/")
	for i, l := range levels {
		switch {
		case l == "#" && i != len(levels)-1:
			return nil, fmt.Errorf("# may only be the last level")
		case l != "#" && l != "+" && strings.ContainsAny(l, "#+"):
			return nil, fmt.Errorf("level %q: + and # must stand alone in their level", l)
		}
	}
	return levels, nil
}

// deviceLevel returns the index of the device key's level, n counting from 1.
func deviceLevel(filter []string, n int) (int, error) {
	if n < 1 || n > len(filter) {
		return 0, fmt.Errorf("%d: the topic filter has levels 1–%d", n, len(filter))
	}
	if filter[n-1] == "#" {
		return 0, fmt.Errorf("%d is the filter's #, which may match no level at all: name the level, as with …/+/#", n)
	}
	return n - 1, nil
}

// templateLevel checks a template against the filter and returns the index
// of its {device} level.
func templateLevel(filter []string, template string) (int, error) {
	levels := strings.Split(template, "/")
	if len(levels) != len(filter) {
		return 0, fmt.Errorf("%d levels, the topic filter %d: they must agree level by level", len(levels), len(filter))
	}
	at, seen := -1, map[string]bool{}
	for i, l := range levels {
		f := filter[i]
		m := placeholder.FindStringSubmatch(l)
		switch {
		case m != nil:
			if f == "#" {
				return 0, fmt.Errorf("level %d: %s where the filter has #; write # there", i+1, l)
			}
			if seen[m[1]] {
				return 0, fmt.Errorf("{%s} appears twice", m[1])
			}
			seen[m[1]] = true
			if m[1] == "device" {
				at = i
			}
		case strings.ContainsAny(l, "{}"):
			return 0, fmt.Errorf("level %d: %q: a placeholder such as {device} must be a whole level", i+1, l)
		case l != f:
			if f == "+" && l != "+" {
				return 0, fmt.Errorf("level %d: %q where the filter has +, which matches any text there; use a placeholder or +", i+1, l)
			}
			return 0, fmt.Errorf("level %d: %q where the filter has %q", i+1, l, f)
		}
	}
	if at < 0 {
		return 0, fmt.Errorf("no {device} level")
	}
	return at, nil
}

// matches says whether a topic matches a filter, split into levels.
func matches(filter, topic []string) bool {
	if len(topic) > 0 && strings.HasPrefix(topic[0], "$") && len(filter) > 0 && (filter[0] == "+" || filter[0] == "#") {
		return false // wildcards do not match $SYS and the like
	}
	for i, f := range filter {
		if f == "#" {
			return true
		}
		if i >= len(topic) || (f != "+" && f != topic[i]) {
			return false
		}
	}
	return len(topic) == len(filter)
}
