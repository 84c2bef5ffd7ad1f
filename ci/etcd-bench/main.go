// etcd-bench: the same load shapes as keel-bench, against etcd 3.4 through
// its Go client, so ci/bench.sh measures both systems in one run with one
// workload definition. Keys: zero-padded decimal numbers cut to --key-size
// bytes, drawn at random from --key-space; values: --val-size bytes of 'v'.
//
//	etcd-bench --endpoints A,B,C --clients 100 --conns 10 put --total N --key-size 8 --val-size 256 --key-space 10000
//	etcd-bench --endpoints A,B,C --clients 100 --conns 10 range KEY --consistency l|s --total N
//	etcd-bench --endpoints A,B,C --clients 10 --conns 10 watch --watchers 100 --put-total N [--put-rate R] --key-size 8 --val-size 256 --key-space 1000
//	etcd-bench --endpoints A,B,C --clients 100 --conns 10 lease-keepalive --total N [--ttl 100]
//
// watch: --watchers watches (clientv3 Watch, spread over the --conns
// clients; the watches of one client share its gRPC watch stream) on the
// range of every key of --key-space, created and confirmed before the
// first put; --clients putters then write put n (value: n zero-padded to
// --val-size) to key n mod --key-space. Each watcher checks it received
// every put exactly once; latency is put sent -> event received.
//
// lease-keepalive: each of --clients grants one lease (--ttl s) before the
// clock starts, then KeepAliveOnce until --total were sent (etcd's
// benchmark tool does the same; in clientv3 3.4 each KeepAliveOnce opens
// a LeaseKeepAlive stream, sends one request, reads one answer).
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/clientv3"
)

func key(n uint64, size int) string {
	s := fmt.Sprintf("%0*d", size, n)
	return s[len(s)-size:]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// quantile of sorted durations.
func quantile(all []time.Duration, q float64) time.Duration {
	if len(all) == 0 {
		return 0
	}
	return all[int(q*float64(len(all)-1))]
}

// printLatency prints etcd benchmark's latency block (sorts all).
func printLatency(title string, all []time.Duration) {
	sort.Slice(all, func(a, b int) bool { return all[a] < all[b] })
	var sum time.Duration
	for _, d := range all {
		sum += d
	}
	fmt.Printf("%s:\n", title)
	if len(all) > 0 {
		fmt.Printf("  fastest %.3f  average %.3f  slowest %.3f\n", ms(all[0]), ms(sum/time.Duration(len(all))), ms(all[len(all)-1]))
	}
	for _, q := range []float64{50, 90, 99, 99.9} {
		fmt.Printf("  %v%% in %.3f ms\n", q, ms(quantile(all, q/100)))
	}
}

// latencyLine: a secondary distribution on one line (no '%').
func latencyLine(all []time.Duration) string {
	sort.Slice(all, func(a, b int) bool { return all[a] < all[b] })
	max := time.Duration(0)
	if len(all) > 0 {
		max = all[len(all)-1]
	}
	return fmt.Sprintf("p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms",
		ms(quantile(all, 0.5)), ms(quantile(all, 0.9)), ms(quantile(all, 0.99)), ms(max))
}

func flatten(per [][]time.Duration) []time.Duration {
	var all []time.Duration
	for _, l := range per {
		all = append(all, l...)
	}
	return all
}

func fail(args ...interface{}) {
	fmt.Fprintln(os.Stderr, append([]interface{}{"etcd-bench:"}, args...)...)
	os.Exit(1)
}

func main() {
	global := flag.NewFlagSet("etcd-bench", flag.ExitOnError)
	endpoints := global.String("endpoints", "127.0.0.1:2379", "comma-separated endpoints")
	clients := global.Int("clients", 1, "concurrent requesters")
	conns := global.Int("conns", 1, "connections they share")
	global.Parse(os.Args[1:])
	rest := global.Args()
	if len(rest) == 0 {
		fmt.Fprintln(os.Stderr, "etcd-bench: put, range, watch or lease-keepalive")
		os.Exit(2)
	}
	work := flag.NewFlagSet(rest[0], flag.ExitOnError)
	total := work.Uint64("total", 10000, "total requests")
	keySize := work.Int("key-size", 8, "key size")
	valSize := work.Int("val-size", 8, "value size")
	keySpace := work.Uint64("key-space", 1, "key space")
	consistency := work.String("consistency", "l", "l or s")
	watchers := work.Int("watchers", 100, "watchers (watch)")
	putTotal := work.Uint64("put-total", 1000, "puts into the watched range (watch)")
	putRate := work.Uint64("put-rate", 0, "puts per second, 0: as fast as possible (watch)")
	settle := work.Duration("settle-timeout", 10*time.Second, "wait for missing events after the last put (watch)")
	ttl := work.Int64("ttl", 100, "lease TTL in seconds (lease-keepalive)")
	var target string
	args := rest[1:]
	if rest[0] == "range" && len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		target, args = args[0], args[1:]
	}
	work.Parse(args)

	eps := strings.Split(*endpoints, ",")
	var cs []*clientv3.Client
	for c := 0; c < *conns; c++ {
		rotated := append(append([]string{}, eps[c%len(eps):]...), eps[:c%len(eps)]...)
		cli, err := clientv3.New(clientv3.Config{Endpoints: rotated, DialTimeout: 2 * time.Second})
		if err != nil {
			fail(err)
		}
		cs = append(cs, cli)
	}
	switch rest[0] {
	case "watch":
		benchWatch(cs, *clients, *watchers, *putTotal, *putRate, *keySize, *valSize, *keySpace, *settle)
		return
	case "lease-keepalive":
		benchLease(cs, *clients, *total, *ttl)
		return
	}
	value := strings.Repeat("v", *valSize)
	var next, failed uint64
	latencies := make([][]time.Duration, *clients)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < *clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cli := cs[i%len(cs)]
			r := rand.New(rand.NewSource(int64(i)))
			for {
				n := atomic.AddUint64(&next, 1) - 1
				if n >= *total {
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				begin := time.Now()
				var err error
				if rest[0] == "put" {
					_, err = cli.Put(ctx, key(uint64(r.Int63())%*keySpace, *keySize), value)
				} else if *consistency == "s" {
					_, err = cli.Get(ctx, target, clientv3.WithSerializable())
				} else {
					_, err = cli.Get(ctx, target)
				}
				cancel()
				if err != nil {
					atomic.AddUint64(&failed, 1)
					continue
				}
				latencies[i] = append(latencies[i], time.Since(begin))
			}
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	all := flatten(latencies)
	fmt.Println("Summary:")
	fmt.Printf("  Total:\t%.4f secs.\n", elapsed)
	fmt.Printf("  Requests:\t%d ok, %d failed\n", len(all), failed)
	fmt.Printf("  Requests/sec:\t%.1f\n", float64(len(all))/elapsed)
	printLatency("Latency (ms)", all)
}

type seen struct {
	distinct, duplicates, unknown uint64
	latencies                     []time.Duration
	last                          time.Time
	err                           string
}

func benchWatch(cs []*clientv3.Client, clients, watchers int, total, rate uint64, keySize, valSize int, keySpace uint64, settle time.Duration) {
	if watchers <= 0 || total == 0 || keySpace == 0 || keySize <= 0 {
		fmt.Fprintln(os.Stderr, "etcd-bench: --watchers, --put-total, --key-space, --key-size must be positive")
		os.Exit(2)
	}
	if valSize < len(strconv.FormatUint(total-1, 10)) {
		fmt.Fprintln(os.Stderr, "etcd-bench: --val-size too small for the put numbers")
		os.Exit(2)
	}
	start, end := key(0, keySize), key(keySpace-1, keySize)+"\x00"
	epoch := time.Now()
	sent := make([]int64, total) // nanoseconds since epoch + 1; 0: not sent
	done := make(chan struct{})  // closed when the last put was answered
	var doneAt atomic.Value
	created := make(chan error, watchers)
	results := make([]seen, watchers)
	var wg sync.WaitGroup
	creating := time.Now()
	for w := 0; w < watchers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s := &results[w]
			wch := cs[w%len(cs)].Watch(ctx, start, clientv3.WithRange(end), clientv3.WithCreatedNotify())
			first, ok := <-wch
			if !ok || !first.Created || first.Err() != nil {
				s.err = fmt.Sprintf("watch not created: %v", first.Err())
				created <- fmt.Errorf("%s", s.err)
				return
			}
			created <- nil
			received := make([]uint64, (total+63)/64)
			var giveUp <-chan time.Time
			doneC := done
			for s.distinct < total {
				var resp clientv3.WatchResponse
				select {
				case r, ok := <-wch:
					if !ok {
						s.err = "watch ended"
						return
					}
					resp = r
				case <-doneC:
					doneC = nil
					giveUp = time.After(time.Until(doneAt.Load().(time.Time).Add(settle)))
					continue
				case <-giveUp:
					return
				}
				if err := resp.Err(); err != nil {
					s.err = fmt.Sprintf("watch failed: %v", err)
					return
				}
				now := time.Now()
				for _, ev := range resp.Events {
					n, err := strconv.ParseUint(string(ev.Kv.Value), 10, 64)
					if err != nil || n >= total || ev.Type != clientv3.EventTypePut {
						s.unknown++
						continue
					}
					word, bit := n/64, uint64(1)<<(n%64)
					if received[word]&bit != 0 {
						s.duplicates++
						continue
					}
					received[word] |= bit
					s.distinct++
					if at := atomic.LoadInt64(&sent[n]); at > 0 {
						s.latencies = append(s.latencies, now.Sub(epoch.Add(time.Duration(at-1))))
					}
				}
				if len(resp.Events) > 0 {
					s.last = now
				}
			}
		}(w)
	}
	for i := 0; i < watchers; i++ {
		if err := <-created; err != nil {
			fail(err)
		}
	}
	creation := time.Since(creating)

	putsStarted := time.Now()
	var next, failed uint64
	putLatencies := make([][]time.Duration, clients)
	var pg sync.WaitGroup
	for i := 0; i < clients; i++ {
		pg.Add(1)
		go func(i int) {
			defer pg.Done()
			cli := cs[i%len(cs)]
			for {
				n := atomic.AddUint64(&next, 1) - 1
				if n >= total {
					return
				}
				if rate > 0 {
					time.Sleep(time.Until(putsStarted.Add(time.Duration(n * uint64(time.Second) / rate))))
				}
				value := fmt.Sprintf("%0*d", valSize, n)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				begin := time.Now()
				atomic.StoreInt64(&sent[n], int64(begin.Sub(epoch))+1)
				_, err := cli.Put(ctx, key(n%keySpace, keySize), value)
				cancel()
				if err != nil {
					atomic.AddUint64(&failed, 1)
					continue
				}
				putLatencies[i] = append(putLatencies[i], time.Since(begin))
			}
		}(i)
	}
	pg.Wait()
	putsElapsed := time.Since(putsStarted).Seconds()
	doneAt.Store(time.Now())
	close(done)
	wg.Wait()

	var distinct, duplicates, unknown uint64
	last := putsStarted
	var latencies []time.Duration
	var problems []string
	for _, s := range results {
		distinct += s.distinct
		duplicates += s.duplicates
		unknown += s.unknown
		latencies = append(latencies, s.latencies...)
		if s.last.After(last) {
			last = s.last
		}
		if s.err != "" {
			problems = append(problems, s.err)
		}
	}
	expected := total * uint64(watchers)
	missing := expected - distinct
	delivered := distinct + duplicates + unknown
	elapsed := last.Sub(putsStarted).Seconds()
	if elapsed <= 0 {
		elapsed = 1e-9
	}
	puts := flatten(putLatencies)
	fmt.Printf("Watch creation:\t%d watchers on %d connections in %.4f secs.\n", watchers, len(cs), creation.Seconds())
	fmt.Println("Summary:")
	fmt.Printf("  Total:\t%.4f secs. (first put sent to last event received)\n", elapsed)
	fmt.Printf("  Puts:\t%d ok, %d failed, %.1f/sec; %s\n", len(puts), failed, float64(len(puts))/putsElapsed, latencyLine(puts))
	fmt.Printf("  Events:\t%d received, %d expected (%d watchers x %d puts); %d duplicates, %d missing, %d unknown\n",
		delivered, expected, watchers, total, duplicates, missing, unknown)
	fmt.Printf("  Requests/sec:\t%.1f (events delivered per second, all watchers)\n", float64(delivered)/elapsed)
	printLatency("Delivery latency (ms, put sent -> event received)", latencies)
	if failed > 0 {
		problems = append(problems, fmt.Sprintf("%d puts failed", failed))
	}
	if duplicates+missing+unknown > 0 {
		problems = append(problems, fmt.Sprintf("not exactly once: %d duplicates, %d missing, %d unknown", duplicates, missing, unknown))
	}
	if len(problems) > 0 {
		fail(problems[0], fmt.Sprintf("(%d problems in all)", len(problems)))
	}
}

func benchLease(cs []*clientv3.Client, clients int, total uint64, ttl int64) {
	leases := make([]clientv3.LeaseID, clients)
	for i := range leases {
		resp, err := cs[i%len(cs)].Grant(context.Background(), ttl)
		if err != nil {
			fail("lease grant:", err)
		}
		leases[i] = resp.ID
	}
	var next, failed uint64
	latencies := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cli := cs[i%len(cs)]
			for atomic.AddUint64(&next, 1)-1 < total {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				begin := time.Now()
				resp, err := cli.KeepAliveOnce(ctx, leases[i])
				cancel()
				if err != nil || resp.TTL <= 0 {
					atomic.AddUint64(&failed, 1)
					continue
				}
				latencies[i] = append(latencies[i], time.Since(begin))
			}
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	for i, id := range leases {
		cs[i%len(cs)].Revoke(context.Background(), id)
	}
	all := flatten(latencies)
	fmt.Println("Summary:")
	fmt.Printf("  Total:\t%.4f secs.\n", elapsed)
	fmt.Printf("  Leases:\t%d (ttl %d s)\n", clients, ttl)
	fmt.Printf("  Requests:\t%d ok, %d failed\n", len(all), failed)
	fmt.Printf("  Requests/sec:\t%.1f\n", float64(len(all))/elapsed)
	printLatency("Latency (ms)", all)
	if failed > 0 {
		os.Exit(1)
	}
}
