// Package mqttbridge connects the platform to an MQTT broker the city runs
// already: it subscribes to topic filters there, finds each message's
// device from its topic (or a fixed device), decodes the payload and hands
// the readings to the ingest pipeline.
//
// A QoS 1 message is acknowledged to the broker only once its readings are
// durable, in the order the messages arrived. When storing fails the
// message is not acknowledged and the bridge drops its connection, so the
// broker delivers it again once the bridge has reconnected. A message that
// can never be stored (malformed, or for an unknown device) is counted as
// rejected and acknowledged, so that it does not come back for ever.
package mqttbridge

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/ingest"
	paho "github.com/eclipse/paho.mqtt.golang"
)

// Source is how the bridge's readings are labelled in the pipeline's
// rejections.
const Source = "mqtt-bridge"

// How long a device lookup is reused, and how many are kept.
const (
	cacheTTL  = 30 * time.Second
	cacheSize = 10000
)

// closeWait bounds how long Close waits for submissions still in flight.
const closeWait = time.Minute

// Bridge is a client of an external broker feeding the ingest pipeline.
type Bridge struct {
	cfg      Config
	addr     string      // host:port
	tls      *tls.Config // nil: plain TCP
	devices  cityhub.DeviceService
	pipeline *ingest.Pipeline
	log      *slog.Logger
	client   paho.Client
	subs     []*subscription
	acks     *acker
	cache    deviceCache
	warnings rateLog

	ctx      context.Context // submissions and lookups; cancelled by Close
	cancel   context.CancelFunc
	stop     chan struct{} // closed by Close
	inflight sync.WaitGroup
	started  atomic.Bool
	closing  atomic.Bool
	once     sync.Once
	unrouted atomic.Int64

	connMu sync.Mutex
	conn   *droppable // the current network connection
	gen    uint64     // counts connections, so a late failure drops only its own

	mu        sync.Mutex // what Status shows of the connection
	connected bool
	since     time.Time
	connects  int64
	lastErr   string
	lastErrAt time.Time
}

// subscription is a configured subscription and its counters.
type subscription struct {
	Subscription
	filter []string
	level  int // index of the level holding the device key; -1 with a fixed Device

	received, submitted, rejected, failed atomic.Int64
	subscribed                            atomic.Bool

	mu        sync.Mutex
	lastMsgAt time.Time
	lastErr   string
	lastErrAt time.Time
}

// New makes a bridge from a configuration (validated here if it was not
// already); Start connects it. Devices are looked up in store, readings
// go to pipeline.
func New(cfg Config, store cityhub.DeviceService, pipeline *ingest.Pipeline, logger *slog.Logger) (*Bridge, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	addr, secure, _ := brokerAddr(cfg.Broker)
	b := &Bridge{cfg: cfg, addr: addr, devices: store, pipeline: pipeline, stop: make(chan struct{}),
		log:   logger.With("component", "mqttbridge", "broker", addr),
		cache: deviceCache{entries: map[string]cacheEntry{}}, warnings: rateLog{last: map[string]time.Time{}, skipped: map[string]int{}}}
	if secure {
		t, err := tlsConfig(cfg)
		if err != nil {
			return nil, err
		}
		b.tls = t
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.acks = newAcker()
	for _, s := range cfg.Subscriptions {
		sub := &subscription{Subscription: s, level: -1}
		sub.filter, _ = parseFilter(s.Topic)
		switch {
		case s.Template != "":
			sub.level, _ = templateLevel(sub.filter, s.Template)
		case s.DeviceLevel != 0:
			sub.level, _ = deviceLevel(sub.filter, s.DeviceLevel)
		}
		b.subs = append(b.subs, sub)
	}
	opts := paho.NewClientOptions().
		AddBroker(cfg.Broker).
		SetClientID(cfg.ClientID).
		SetUsername(cfg.Username).
		SetPassword(cfg.Password).
		SetProtocolVersion(4).
		SetCleanSession(cfg.CleanSession).
		SetKeepAlive(time.Duration(cfg.KeepAlive)).
		SetConnectTimeout(10 * time.Second).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(time.Duration(cfg.MaxReconnectInterval)).
		SetConnectRetry(false). // the first connection is retried by connect, with backoff
		SetOrderMatters(true).  // messages are taken in one at a time, in order
		SetAutoAckDisabled(true).
		SetCustomOpenConnectionFn(b.dial).
		SetDefaultPublishHandler(b.onMessage). // messages of a resumed session may come before SUBACK
		SetOnConnectHandler(b.onConnect).
		SetConnectionLostHandler(b.onConnectionLost).
		SetConnectionNotificationHandler(b.onNotification)
	b.client = paho.NewClient(opts)
	return b, nil
}

func tlsConfig(cfg Config) (*tls.Config, error) {
	fe := cityhub.FieldErrors{}
	t := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // the operator's choice, off by default
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			fe.Add("ca_file", err.Error())
		} else {
			t.RootCAs = x509.NewCertPool()
			if !t.RootCAs.AppendCertsFromPEM(pem) {
				fe.Add("ca_file", cfg.CAFile+" holds no PEM certificate")
			}
		}
	}
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			fe.Add("cert_file", err.Error())
		} else {
			t.Certificates = []tls.Certificate{cert}
		}
	}
	return t, fe.Err("invalid MQTT bridge TLS configuration")
}

// Start connects to the broker in the background and returns; the bridge
// keeps (re)connecting with backoff until Close, or until ctx ends, which
// closes it as Close does. Status tells how it goes.
func (b *Bridge) Start(ctx context.Context) error {
	b.connMu.Lock()
	defer b.connMu.Unlock()
	if b.closing.Load() {
		return errors.New("mqttbridge: closed")
	}
	if b.started.Load() {
		return errors.New("mqttbridge: started already")
	}
	b.started.Store(true)
	go b.acks.run()
	go b.connect()
	go func() {
		select {
		case <-ctx.Done():
			b.Close()
		case <-b.stop:
		}
	}()
	return nil
}

// connect makes the first connection, retrying with backoff; after that
// the client reconnects by itself.
func (b *Bridge) connect() {
	delay := time.Second
	for {
		b.connMu.Lock() // Close may not disconnect between the check and Connect
		if b.closing.Load() {
			b.connMu.Unlock()
			return
		}
		tok := b.client.Connect()
		b.connMu.Unlock()
		select {
		case <-tok.Done():
		case <-b.stop:
			return
		}
		if tok.Error() == nil {
			return
		}
		b.setError("connect: " + tok.Error().Error())
		b.warn("connect", "cannot connect to the MQTT broker; retrying", "in", delay, "err", tok.Error())
		select {
		case <-time.After(delay):
		case <-b.stop:
			return
		}
		delay = min(2*delay, time.Duration(b.cfg.MaxReconnectInterval))
	}
}

// dial opens the network connection and keeps it, so that a failure to
// store can drop it and make the broker deliver again.
func (b *Bridge) dial(_ *url.URL, opts paho.ClientOptions) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(b.ctx, opts.ConnectTimeout)
	defer cancel()
	nd := &net.Dialer{}
	var conn net.Conn
	var err error
	if b.tls != nil {
		conn, err = (&tls.Dialer{NetDialer: nd, Config: b.tls}).DialContext(ctx, "tcp", b.addr)
	} else {
		conn, err = nd.DialContext(ctx, "tcp", b.addr)
	}
	if err != nil {
		return nil, err
	}
	d := &droppable{Conn: conn}
	b.connMu.Lock()
	b.conn = d
	b.gen++
	b.connMu.Unlock()
	return d, nil
}

// droppable is a network connection the bridge can fail. Paho takes a
// connection closed under it for its own shutdown and would not reconnect,
// so drop makes reads fail instead: paho then closes the connection and
// reconnects as after any network failure.
type droppable struct {
	net.Conn
	dropped atomic.Bool
}

var errDropped = errors.New("dropped by the bridge so that the broker delivers unstored messages again")

func (c *droppable) Read(p []byte) (int, error) {
	if c.dropped.Load() {
		return 0, errDropped
	}
	n, err := c.Conn.Read(p)
	if err != nil && c.dropped.Load() {
		err = errDropped
	}
	return n, err
}

func (c *droppable) drop() {
	c.dropped.Store(true)
	c.Conn.SetReadDeadline(time.Now()) // wakes a read in progress
}

// drop fails connection gen, if it is still the current one: the broker
// then keeps what was not acknowledged and sends it again on reconnect,
// which the client does by itself, backing off while failures continue.
func (b *Bridge) drop(gen uint64) {
	b.connMu.Lock()
	defer b.connMu.Unlock()
	if b.gen == gen && b.conn != nil && !b.closing.Load() {
		b.conn.drop()
		b.conn = nil
	}
}

func (b *Bridge) onConnect(c paho.Client) {
	b.mu.Lock()
	b.connected, b.since = true, time.Now()
	b.connects++
	b.mu.Unlock()
	b.log.Info("connected to the MQTT broker", "client_id", b.cfg.ClientID)
	filters := map[string]byte{}
	for _, s := range b.subs {
		filters[s.Topic] = byte(s.QoS)
	}
	// nil: messages go to the default handler, onMessage.
	tok := c.SubscribeMultiple(filters, nil)
	select {
	case <-tok.Done():
	case <-b.stop:
		return
	}
	if err := tok.Error(); err != nil {
		if !b.closing.Load() {
			b.setError("subscribe: " + err.Error())
			b.log.Warn("subscribing", "err", err)
		}
		return
	}
	granted := tok.(*paho.SubscribeToken).Result()
	for _, s := range b.subs {
		code, ok := granted[s.Topic]
		s.subscribed.Store(ok && code <= 1)
		if !ok || code > 1 {
			err := fmt.Errorf("the broker refused the subscription (SUBACK 0x%02x): not allowed, or not a filter it takes", code)
			s.setError(err.Error())
			b.setError(fmt.Sprintf("subscribe %s: %v", s.Topic, err))
			b.log.Warn("subscription refused", "topic", s.Topic, "code", code)
		}
	}
}

func (b *Bridge) onConnectionLost(_ paho.Client, err error) {
	b.mu.Lock()
	b.connected, b.since = false, time.Now()
	b.mu.Unlock()
	for _, s := range b.subs {
		s.subscribed.Store(false)
	}
	if errors.Is(err, errDropped) {
		b.log.Info("reconnecting to get unstored messages again")
		return // the failure to store is the error to show
	}
	if err != nil && !b.closing.Load() {
		b.setError("connection lost: " + err.Error())
		b.warn("lost", "lost the connection to the MQTT broker; reconnecting", "err", err)
	}
}

func (b *Bridge) onNotification(_ paho.Client, n paho.ConnectionNotification) {
	if f, ok := n.(paho.ConnectionNotificationFailed); ok && f.Reason != nil && !b.closing.Load() {
		b.setError("connect: " + f.Reason.Error())
	}
}

func (b *Bridge) setError(msg string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lastErr, b.lastErrAt = msg, time.Now()
}

func (s *subscription) setError(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastErr, s.lastErrAt = msg, time.Now()
}

// errUnknownDevice: no enabled device has the topic's key.
var errUnknownDevice = errors.New("unknown device")

// onMessage takes in one message. Messages come one at a time, in order;
// the readings' write is waited for elsewhere, in the pipeline's callback.
func (b *Bridge) onMessage(_ paho.Client, m paho.Message) {
	b.connMu.Lock()
	if b.closing.Load() {
		b.connMu.Unlock()
		return // not acknowledged: the broker keeps it for the next session
	}
	b.inflight.Add(1) // under connMu: Close waits only once no more are added
	gen := b.gen
	b.connMu.Unlock()
	slot := b.acks.add(m)
	var once sync.Once
	settle := func(ack bool) {
		once.Do(func() {
			b.acks.settle(slot, ack)
			b.inflight.Done()
		})
	}
	topic := strings.Split(m.Topic(), "/")
	s := b.route(topic)
	if s == nil {
		// A subscription of an earlier configuration, kept in the
		// broker's session: nothing here says what its messages are.
		b.unrouted.Add(1)
		b.warn("unrouted", "a message matches no configured subscription; drop the session (clean_session once) to forget old subscriptions",
			"topic", m.Topic())
		settle(true)
		return
	}
	s.received.Add(1)
	s.mu.Lock()
	s.lastMsgAt = time.Now()
	s.mu.Unlock()
	fail := func(err error) {
		if b.closing.Load() {
			settle(false)
			return
		}
		s.failed.Add(1)
		s.setError(err.Error())
		b.setError(fmt.Sprintf("%s: %v", s.Name, err))
		b.warn("fail:"+s.Name, "not stored; the broker will deliver it again", "subscription", s.Name, "topic", m.Topic(), "err", err)
		settle(false)
		b.drop(gen)
	}
	reject := func(detail string) {
		s.rejected.Add(1)
		s.setError(detail)
		b.warn("reject:"+s.Name, "message rejected", "subscription", s.Name, "topic", m.Topic(), "reason", detail)
		settle(true)
	}
	dev, err := b.resolve(s, topic)
	if errors.Is(err, errUnknownDevice) {
		b.pipeline.RejectOther(ingest.ReasonUnknownDevice, s.values(m.Payload()))
		reject(err.Error())
		return
	}
	if err != nil {
		fail(fmt.Errorf("looking up the device: %w", err))
		return
	}
	switch s.Format {
	case FormatAttributes:
		attrs, err := ingest.DecodeAttributes(m.Payload())
		if err != nil {
			b.pipeline.RejectMalformed(dev, Source, err)
			reject(err.Error())
			return
		}
		if err := b.devices.MergeDeviceAttributes(b.ctx, dev.ID, attrs); err != nil {
			switch cityhub.ErrorCode(err) {
			case cityhub.EINVALID:
				b.pipeline.RejectMalformed(dev, Source, err)
				reject(err.Error())
				return
			case cityhub.ENOTFOUND: // deleted since it was looked up
				b.pipeline.RejectOther(ingest.ReasonUnknownDevice, 1)
				reject(err.Error())
				return
			}
			fail(fmt.Errorf("storing attributes: %w", err))
			return
		}
		s.submitted.Add(1)
		settle(true)
	default:
		samples, err := ingest.DecodeTelemetry(m.Payload())
		if err != nil {
			b.pipeline.RejectMalformed(dev, Source, err)
			reject(err.Error())
			return
		}
		done := func(err error) {
			if err != nil {
				fail(err)
				return
			}
			s.submitted.Add(1)
			settle(true)
		}
		// Values refused by the pipeline (out of range, unknown
		// property, …) are counted there; the message is acknowledged.
		if err := b.pipeline.Submit(b.ctx, dev, Source, samples, func(r ingest.Result) { done(r.Err) }); err != nil {
			done(err) // not queued: shutting down, or cancelled while waiting for room
		}
	}
}

// route returns the first subscription whose filter matches the topic.
func (b *Bridge) route(topic []string) *subscription {
	for _, s := range b.subs {
		if matches(s.filter, topic) {
			return s
		}
	}
	return nil
}

// values is how many values a message carries, for the rejection counts:
// a telemetry payload's values, otherwise one.
func (s *subscription) values(payload []byte) int {
	if s.Format != FormatThingsBoard {
		return 1
	}
	samples, err := ingest.DecodeTelemetry(payload)
	if err != nil {
		return 1
	}
	n := 0
	for _, sm := range samples {
		n += len(sm.Values)
	}
	return max(n, 1)
}

// resolve finds the message's device; errUnknownDevice when there is no
// such enabled device, another error when the store failed.
func (b *Bridge) resolve(s *subscription, topic []string) (*cityhub.Device, error) {
	key := s.Device
	if s.level >= 0 {
		if s.level >= len(topic) || topic[s.level] == "" {
			return nil, errUnknownDevice
		}
		key = topic[s.level]
	}
	d, err := b.cache.get(s.Key, key, func() (*cityhub.Device, error) {
		var d *cityhub.Device
		var err error
		switch s.Key {
		case KeyEntityID:
			d, err = b.devices.DeviceByEntityID(b.ctx, key)
		case KeyID:
			id, perr := strconv.ParseInt(key, 10, 64)
			if perr != nil || id <= 0 {
				return nil, errUnknownDevice
			}
			d, err = b.devices.Device(b.ctx, id)
		default:
			d, err = b.devices.DeviceByName(b.ctx, key)
		}
		if cityhub.ErrorCode(err) == cityhub.ENOTFOUND {
			return nil, errUnknownDevice
		}
		return d, err
	})
	if err != nil {
		if errors.Is(err, errUnknownDevice) {
			return nil, fmt.Errorf("%w: no device with %s %q", errUnknownDevice, s.Key, key)
		}
		return nil, err
	}
	if d.Disabled {
		return nil, fmt.Errorf("%w: device %q is disabled", errUnknownDevice, d.Name)
	}
	return d, nil
}

// Close stops taking messages, waits for submissions in flight (up to a
// minute) so their messages are acknowledged, and disconnects. The broker
// keeps the session (unless clean_session): what arrives meanwhile waits
// there for the next start. The pipeline must still be running, or have
// finished its Run, for submissions to complete.
func (b *Bridge) Close() error {
	b.once.Do(func() {
		b.connMu.Lock()
		b.closing.Store(true)
		started := b.started.Load()
		b.connMu.Unlock()
		close(b.stop)
		// Submissions still waiting for room in the pipeline give up:
		// their messages stay unacknowledged and come again.
		b.cancel()
		if !started {
			return
		}
		waited := make(chan struct{})
		go func() { b.inflight.Wait(); close(waited) }()
		select {
		case <-waited:
		case <-time.After(closeWait):
			b.log.Error("closing: submissions still unsettled; their messages will be delivered again", "after", closeWait)
		}
		b.acks.close() // acknowledges what is settled, in order
		b.client.Disconnect(250)
		b.mu.Lock()
		b.connected = false
		b.mu.Unlock()
		b.log.Info("disconnected from the MQTT broker")
	})
	return nil
}

// Status is what an API or console shows of a bridge.
type Status struct {
	Broker      string     `json:"broker"`
	ClientID    string     `json:"client_id"`
	Connected   bool       `json:"connected"`
	Since       *time.Time `json:"since,omitempty"`      // connected or disconnected since
	Connects    int64      `json:"connects"`             // connections made, reconnections included
	LastError   string     `json:"last_error,omitempty"` // the latest problem, kept after recovery
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
	// Unrouted counts messages that matched no configured subscription
	// (left in the broker's session by an earlier configuration).
	Unrouted      int64                `json:"unrouted"`
	Subscriptions []SubscriptionStatus `json:"subscriptions"`
}

// SubscriptionStatus counts one subscription's messages. Received is
// Submitted + Rejected + Failed, plus what is in flight. Values refused
// inside a submitted message are counted by the pipeline.
type SubscriptionStatus struct {
	Name       string `json:"name"`
	Topic      string `json:"topic"`
	QoS        int    `json:"qos"`
	Format     string `json:"format"`
	Subscribed bool   `json:"subscribed"`
	Received   int64  `json:"received"`
	Submitted  int64  `json:"submitted"` // stored (or refused value by value) and acknowledged
	Rejected   int64  `json:"rejected"`  // malformed, or for an unknown device; acknowledged
	Failed     int64  `json:"failed"`    // not stored, not acknowledged: the broker delivers them again
	// LastMessageAt is when the latest message arrived.
	LastMessageAt *time.Time `json:"last_message_at,omitempty"`
	LastError     string     `json:"last_error,omitempty"`
	LastErrorAt   *time.Time `json:"last_error_at,omitempty"`
}

// Status reports the connection and each subscription's counts.
func (b *Bridge) Status() Status {
	b.mu.Lock()
	st := Status{Broker: b.cfg.Broker, ClientID: b.cfg.ClientID, Connected: b.connected, Since: timePtr(b.since),
		Connects: b.connects, LastError: b.lastErr, LastErrorAt: timePtr(b.lastErrAt), Unrouted: b.unrouted.Load()}
	b.mu.Unlock()
	for _, s := range b.subs {
		s.mu.Lock()
		st.Subscriptions = append(st.Subscriptions, SubscriptionStatus{Name: s.Name, Topic: s.Topic, QoS: s.QoS, Format: s.Format,
			Subscribed: s.subscribed.Load(), Received: s.received.Load(), Submitted: s.submitted.Load(),
			Rejected: s.rejected.Load(), Failed: s.failed.Load(),
			LastMessageAt: timePtr(s.lastMsgAt), LastError: s.lastErr, LastErrorAt: timePtr(s.lastErrAt)})
		s.mu.Unlock()
	}
	return st
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// warn logs at most once every 10 seconds a key, saying how many were
// left out meanwhile: a flood of bad messages does not flood the log.
func (b *Bridge) warn(key, msg string, args ...any) {
	if n, ok := b.warnings.allow(key, time.Now()); ok {
		if n > 0 {
			args = append(args, "suppressed", n)
		}
		b.log.Warn(msg, args...)
	}
}

type rateLog struct {
	mu      sync.Mutex
	last    map[string]time.Time
	skipped map[string]int
}

func (r *rateLog) allow(key string, now time.Time) (skipped int, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Sub(r.last[key]) < 10*time.Second {
		r.skipped[key]++
		return 0, false
	}
	r.last[key] = now
	skipped = r.skipped[key]
	delete(r.skipped, key)
	return skipped, true
}

// deviceCache keeps device lookups, found or not, for cacheTTL.
type deviceCache struct {
	mu      sync.Mutex
	entries map[string]cacheEntry
}

type cacheEntry struct {
	dev *cityhub.Device // nil: no such device
	at  time.Time
}

func (c *deviceCache) get(kind, key string, lookup func() (*cityhub.Device, error)) (*cityhub.Device, error) {
	k := kind + "\x00" + key
	now := time.Now()
	c.mu.Lock()
	e, ok := c.entries[k]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < cacheTTL {
		if e.dev == nil {
			return nil, errUnknownDevice
		}
		return e.dev, nil
	}
	d, err := lookup()
	if err != nil && !errors.Is(err, errUnknownDevice) {
		return nil, err // the store failed: nothing to remember
	}
	c.mu.Lock()
	if len(c.entries) >= cacheSize {
		clear(c.entries)
	}
	c.entries[k] = cacheEntry{dev: d, at: now}
	c.mu.Unlock()
	return d, err
}

// acker acknowledges messages in the order they arrived (as MQTT asks),
// each once it is settled, on a goroutine of its own so that a slow broker
// connection does not hold up the pipeline's callbacks.
type acker struct {
	mu     sync.Mutex
	queue  []*ackSlot // arrival order; the front ones are acknowledged once settled
	wake   chan struct{}
	closed bool
	done   chan struct{}
}

type ackSlot struct {
	msg     paho.Message
	settled bool
	ack     bool
}

func newAcker() *acker {
	return &acker{wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func (a *acker) add(m paho.Message) *ackSlot {
	s := &ackSlot{msg: m}
	a.mu.Lock()
	a.queue = append(a.queue, s)
	a.mu.Unlock()
	return s
}

// settle says whether the slot's message is to be acknowledged: yes when
// it is stored or refused for good; no when it is to come again.
func (a *acker) settle(s *ackSlot, ack bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s.settled, s.ack = true, ack
	if !a.closed { // settled after Close gave up waiting: never acknowledged
		select {
		case a.wake <- struct{}{}:
		default:
		}
	}
}

// run acknowledges settled messages from the front of the queue until
// close, then once more.
func (a *acker) run() {
	defer close(a.done)
	for {
		_, open := <-a.wake
		a.mu.Lock()
		n := 0
		for n < len(a.queue) && a.queue[n].settled {
			n++
		}
		ready := a.queue[:n:n]
		a.queue = a.queue[n:]
		closed := a.closed
		a.mu.Unlock()
		for _, s := range ready {
			if s.ack {
				s.msg.Ack() // QoS 0: nothing; after the connection is gone: dropped
			}
		}
		if !open || closed {
			return
		}
	}
}

// close acknowledges what is settled at the front and stops run; it
// returns when run has.
func (a *acker) close() {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		<-a.done
		return
	}
	a.closed = true
	close(a.wake)
	a.mu.Unlock()
	<-a.done
}
