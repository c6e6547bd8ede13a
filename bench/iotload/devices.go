package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/sqlstore"
)

// A devInfo is one simulated station as the store knows it.
type devInfo struct {
	id    int64
	name  string
	token string
}

const tokensFile = "devices.tsv" // id, name, token a line

// openStore opens (or creates) the platform's main store in dir, with its
// audit key.
func openStore(ctx context.Context, dir string) (*sqlstore.Store, *cityhub.AuditKey, error) {
	key, err := cityhub.LoadAuditKey(filepath.Join(dir, "audit.key"), true)
	if err != nil {
		return nil, nil, err
	}
	st, err := sqlstore.Open(ctx, filepath.Join(dir, "cityhub.db"), sqlstore.Options{AuditKey: key})
	return st, key, err
}

// prepareDevices returns n registered AirQualityObserved devices with their
// tokens: those listed in dir's tokens file are reused (the store keeps
// only token hashes), the rest are created, several at a time.
func prepareDevices(ctx context.Context, dir string, n, workers int) ([]devInfo, error) {
	_, dbErr := os.Stat(filepath.Join(dir, "cityhub.db"))
	st, _, err := openStore(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer st.Close()

	var have []devInfo
	path := filepath.Join(dir, tokensFile)
	if dbErr == nil {
		have, err = readTokens(path)
		if err != nil {
			return nil, err
		}
		// The file must belong to this store: the first and last tokens sign in.
		for _, i := range []int{0, len(have) - 1} {
			if len(have) == 0 {
				break
			}
			if d, err := st.DeviceByToken(ctx, have[i].token); err != nil || d.ID != have[i].id {
				fmt.Printf("devices: %s does not match the store (%v); registering again\n", tokensFile, err)
				have = nil
				break
			}
		}
	}
	if len(have) >= n {
		fmt.Printf("devices: reused %d registered devices from %s\n", n, path)
		return have[:n], nil
	}
	if len(have) == 0 {
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			return nil, err
		}
	}
	dep, err := department(ctx, st)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	w := bufio.NewWriter(f)
	var mu sync.Mutex
	out := slices.Clone(have)
	next := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	t0 := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				di, err := register(ctx, st, dep, i)
				if err != nil {
					errs <- err
					for range next {
					}
					return
				}
				mu.Lock()
				out = append(out, di)
				fmt.Fprintf(w, "%d\t%s\t%s\n", di.id, di.name, di.token)
				mu.Unlock()
			}
		}()
	}
	for i := len(have); i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	took := time.Since(t0)
	if err := errors.Join(w.Flush(), f.Close()); err != nil {
		return nil, err
	}
	select {
	case err := <-errs:
		return nil, err
	default:
	}
	made := n - len(have)
	fmt.Printf("devices: created %d through the store in %s (%.2f ms each, %d at a time; reused %d) — tokens kept in %s\n",
		made, took.Round(time.Millisecond), float64(took.Microseconds())/1000/float64(made), workers, len(have), path)
	slices.SortFunc(out, func(a, b devInfo) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

func department(ctx context.Context, st *sqlstore.Store) (*cityhub.Department, error) {
	deps, _, err := st.Departments(ctx, cityhub.DepartmentFilter{})
	if err != nil {
		return nil, err
	}
	if len(deps) > 0 {
		return deps[0], nil
	}
	dep := &cityhub.Department{Name: "宁波市生态环境局", CreditCode: "91110000600037341L", Division: "330200", Level: cityhub.LevelCity}
	return dep, st.CreateDepartment(ctx, dep)
}

var districts = []string{"330203", "330205", "330206", "330211", "330212", "330213"}

// register creates station i, or takes it over with a new token when a
// run before this one registered it but did not record its token.
func register(ctx context.Context, st *sqlstore.Store, dep *cityhub.Department, i int) (devInfo, error) {
	rng := rand.New(rand.NewPCG(uint64(i), 7))
	d := &cityhub.Device{Name: fmt.Sprintf("bench-aq-%05d", i), Type: "AirQualityObserved", DepartmentID: dep.ID,
		Division: districts[i%len(districts)], Lon: 121.3 + 0.5*rng.Float64(), Lat: 29.7 + 0.3*rng.Float64()}
	token, err := st.CreateDevice(ctx, d)
	if cityhub.ErrorCode(err) == cityhub.ECONFLICT {
		old, err2 := st.DeviceByName(ctx, d.Name)
		if err2 != nil {
			return devInfo{}, err
		}
		d = old
		token, err = st.RotateDeviceToken(ctx, d.ID)
	}
	if err != nil {
		return devInfo{}, fmt.Errorf("register %s: %w", d.Name, err)
	}
	return devInfo{id: d.ID, name: d.Name, token: token}, nil
}

func readTokens(path string) ([]devInfo, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []devInfo
	for line := range strings.Lines(string(data)) {
		f := strings.Split(strings.TrimSpace(line), "\t")
		if len(f) != 3 {
			continue
		}
		id, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		out = append(out, devInfo{id: id, name: f[1], token: f[2]})
	}
	slices.SortFunc(out, func(a, b devInfo) int { return strings.Compare(a.name, b.name) })
	return out, nil
}
