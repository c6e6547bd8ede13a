// Package mqtt is the platform's embedded MQTT broker (MQTT 3.1.1 and 5,
// on mochi-mqtt) speaking ThingsBoard's device API: a device connects with
// its access token as the user name and publishes telemetry and attributes
// to its own topics; a gateway also publishes for the devices behind it.
//
// A QoS 1 PUBLISH is acknowledged only once its readings are durable in
// the series store: the broker hands the message to the ingest pipeline
// and writes the PUBACK when the pipeline says so. While storage is behind,
// the pipeline's queue fills, the broker stops reading from the sender's
// connection, and TCP slows the device down: backpressure, not loss.
package mqtt

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/ingest"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// ThingsBoard's device API topics.
const (
	TopicTelemetry        = "v1/devices/me/telemetry"
	TopicAttributes       = "v1/devices/me/attributes"
	TopicGatewayTelemetry = "v1/gateway/telemetry"
	TopicGatewayAttrs     = "v1/gateway/attributes"
	TopicGatewayConnect   = "v1/gateway/connect"
)

// Options configure the broker.
type Options struct {
	Addr    string      // host:port; ":1883" by default, port 0 picks one
	TLS     *tls.Config // nil: plain TCP
	Logger  *slog.Logger
	Context context.Context // bounds waits for room in the pipeline
}

// Broker is the embedded MQTT server.
type Broker struct {
	server   *mochi.Server
	listener *listeners.TCP
	devices  cityhub.DeviceService
	pipeline *ingest.Pipeline
	log      *slog.Logger
	ctx      context.Context

	mu        sync.Mutex
	byToken   map[string]*cityhub.Device // connected devices, by the token they signed in with
	connected map[string]int             // connections per token
}

// New makes a broker that feeds pipeline; Start opens its port.
func New(devices cityhub.DeviceService, pipeline *ingest.Pipeline, opts Options) (*Broker, error) {
	if opts.Addr == "" {
		opts.Addr = ":1883"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Context == nil {
		opts.Context = context.Background()
	}
	caps := mochi.NewDefaultServerCapabilities()
	caps.MaximumQos = 1 // ThingsBoard's API is QoS 0 and 1
	caps.RetainAvailable = 0
	caps.MaximumMessageExpiryInterval = 0
	// Devices receive little (PUBACKs, attribute updates): mochi's default
	// of 8,192 pending writes a client costs 64 KiB each, 630 MB at 10,000.
	caps.MaximumClientWritesPending = 64
	b := &Broker{devices: devices, pipeline: pipeline, log: opts.Logger.With("component", "mqtt"), ctx: opts.Context,
		byToken: map[string]*cityhub.Device{}, connected: map[string]int{}}
	b.server = mochi.New(&mochi.Options{Capabilities: caps, Logger: b.log, InlineClient: false})
	if err := b.server.AddHook(&hook{b: b}, nil); err != nil {
		return nil, err
	}
	b.listener = listeners.NewTCP(listeners.Config{ID: "tcp", Address: opts.Addr, TLSConfig: opts.TLS})
	if err := b.server.AddListener(b.listener); err != nil {
		return nil, fmt.Errorf("mqtt listen on %s: %w", opts.Addr, err)
	}
	return b, nil
}

// Addr is the address the broker listens on.
func (b *Broker) Addr() string { return b.listener.Address() }

// Start serves connections in the background.
func (b *Broker) Start() error { return b.server.Serve() }

// Close disconnects every client and stops listening.
func (b *Broker) Close() error { return b.server.Close() }

// Clients is the number of connected clients.
func (b *Broker) Clients() int64 { return b.server.Info.ClientsConnected }

func (b *Broker) device(cl *mochi.Client) *cityhub.Device {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.byToken[string(cl.Properties.Username)]
}

// hook is the broker's authentication, ACL and ingest.
type hook struct {
	mochi.HookBase
	b *Broker
}

func (h *hook) ID() string { return "cityhub" }

func (h *hook) Provides(b byte) bool {
	switch b {
	case mochi.OnConnectAuthenticate, mochi.OnACLCheck, mochi.OnPublish, mochi.OnDisconnect:
		return true
	}
	return false
}

// OnConnectAuthenticate accepts a device whose token is the user name.
func (h *hook) OnConnectAuthenticate(cl *mochi.Client, pk packets.Packet) bool {
	token := string(pk.Connect.Username)
	if token == "" {
		return false
	}
	d, err := h.b.devices.DeviceByToken(h.b.ctx, token)
	if err != nil {
		if cityhub.ErrorCode(err) != cityhub.ENOTFOUND {
			h.b.log.Error("device sign-in", "err", err)
		}
		h.b.log.Info("refused a connection: unknown or disabled device token", "client", cl.ID, "remote", cl.Net.Remote)
		return false
	}
	h.b.mu.Lock()
	h.b.byToken[token] = d
	h.b.connected[token]++
	h.b.mu.Unlock()
	return true
}

func (h *hook) OnDisconnect(cl *mochi.Client, err error, expire bool) {
	token := string(cl.Properties.Username)
	h.b.mu.Lock()
	defer h.b.mu.Unlock()
	if h.b.connected[token]--; h.b.connected[token] <= 0 {
		delete(h.b.connected, token)
		delete(h.b.byToken, token)
	}
}

// OnACLCheck lets a device publish only to its own topics, and gateways to
// the gateway topics; it may subscribe to its attribute updates.
func (h *hook) OnACLCheck(cl *mochi.Client, topic string, write bool) bool {
	d := h.b.device(cl)
	if d == nil {
		return false
	}
	if !write {
		return topic == TopicAttributes || topic == TopicAttributes+"/response/+" || topic == "v1/devices/me/rpc/request/+"
	}
	switch topic {
	case TopicTelemetry, TopicAttributes:
		return true
	case TopicGatewayTelemetry, TopicGatewayAttrs, TopicGatewayConnect:
		return d.Gateway
	}
	return false
}

// OnPublish hands the message to the pipeline and acknowledges it when its
// readings are durable. It returns ErrRejectPacket so that mochi neither
// acknowledges nor forwards the message itself: device telemetry goes to
// the store, not to other MQTT clients.
func (h *hook) OnPublish(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	d := h.b.device(cl)
	if d == nil {
		return pk, packets.ErrRejectPacket
	}
	// The closures capture two fields, not pk: a captured packet would be
	// copied to the heap for every message.
	qos, id := pk.FixedHeader.Qos, pk.PacketID
	ack := func(code byte) {
		if qos == 0 {
			return
		}
		out := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: id}
		if cl.Properties.ProtocolVersion == 5 {
			out.ReasonCode = code
		}
		if err := cl.WritePacket(out); err != nil && !errors.Is(err, mochi.ErrConnectionClosed) {
			h.b.log.Warn("puback", "device", d.Name, "err", err)
		}
	}
	malformed := func(err error) error {
		h.b.pipeline.RejectMalformed(d, "mqtt", err)
		ack(packets.ErrPayloadFormatInvalid.Code)
		return packets.ErrRejectPacket
	}
	switch pk.TopicName {
	case TopicTelemetry:
		samples, err := ingest.DecodeTelemetry(pk.Payload)
		if err != nil {
			return pk, malformed(err)
		}
		h.submit(cl, d, samples, ack)
	case TopicAttributes:
		attrs, err := ingest.DecodeAttributes(pk.Payload)
		if err != nil {
			return pk, malformed(err)
		}
		if err := h.b.devices.MergeDeviceAttributes(h.b.ctx, d.ID, attrs); err != nil {
			h.b.log.Warn("device attributes", "device", d.Name, "err", err)
			ack(packets.ErrImplementationSpecificError.Code)
			return pk, packets.ErrRejectPacket
		}
		ack(packets.CodeSuccess.Code)
	case TopicGatewayTelemetry:
		byName, err := ingest.DecodeGatewayTelemetry(pk.Payload)
		if err != nil {
			return pk, malformed(err)
		}
		h.gateway(cl, d, byName, ack)
	default: // gateway connect and attributes: accepted, nothing to keep yet
		ack(packets.CodeSuccess.Code)
	}
	return pk, packets.ErrRejectPacket
}

func (h *hook) submit(cl *mochi.Client, d *cityhub.Device, samples []ingest.Sample, ack func(byte)) {
	err := h.b.pipeline.Submit(h.b.ctx, d, "mqtt", samples, func(r ingest.Result) {
		if r.Err != nil {
			// Not durable: no PUBACK. Dropping the connection makes the
			// client send the message again when it reconnects.
			h.b.server.DisconnectClient(cl, packets.ErrUnspecifiedError)
			return
		}
		ack(packets.CodeSuccess.Code)
	})
	if err != nil {
		h.b.server.DisconnectClient(cl, packets.ErrServerShuttingDown)
	}
}

// gateway submits each named device's samples and acknowledges once all
// are durable. A gateway may speak for devices of its own department.
func (h *hook) gateway(cl *mochi.Client, gw *cityhub.Device, byName map[string][]ingest.Sample, ack func(byte)) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := false
	for name, samples := range byName {
		d, err := h.b.devices.DeviceByName(h.b.ctx, name)
		if err != nil || d.DepartmentID != gw.DepartmentID || d.Disabled {
			n := 0
			for _, s := range samples {
				n += len(s.Values)
			}
			h.b.pipeline.RejectOther(ingest.ReasonUnknownDevice, n)
			continue
		}
		wg.Add(1)
		err = h.b.pipeline.Submit(h.b.ctx, d, "mqtt-gateway", samples, func(r ingest.Result) {
			mu.Lock()
			failed = failed || r.Err != nil
			mu.Unlock()
			wg.Done()
		})
		if err != nil {
			mu.Lock()
			failed = true
			mu.Unlock()
			wg.Done()
		}
	}
	go func() {
		wg.Wait()
		if failed {
			h.b.server.DisconnectClient(cl, packets.ErrUnspecifiedError)
			return
		}
		ack(packets.CodeSuccess.Code)
	}()
}
