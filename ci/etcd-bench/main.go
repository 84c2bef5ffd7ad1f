// etcd-bench: the same load shapes as keel-bench, against etcd 3.4 through
// its Go client, so ci/bench.sh measures both systems in one run with one
// workload definition. Keys: zero-padded decimal numbers cut to --key-size
// bytes, drawn at random from --key-space; values: --val-size bytes of 'v'.
//
//	etcd-bench --endpoints A,B,C --clients 100 --conns 10 put --total N --key-size 8 --val-size 256 --key-space 10000
//	etcd-bench --endpoints A,B,C --clients 100 --conns 10 range KEY --consistency l|s --total N
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"sort"
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

func main() {
	global := flag.NewFlagSet("etcd-bench", flag.ExitOnError)
	endpoints := global.String("endpoints", "127.0.0.1:2379", "comma-separated endpoints")
	clients := global.Int("clients", 1, "concurrent requesters")
	conns := global.Int("conns", 1, "connections they share")
	global.Parse(os.Args[1:])
	rest := global.Args()
	if len(rest) == 0 {
		fmt.Fprintln(os.Stderr, "etcd-bench: put or range")
		os.Exit(2)
	}
	work := flag.NewFlagSet(rest[0], flag.ExitOnError)
	total := work.Uint64("total", 10000, "total requests")
	keySize := work.Int("key-size", 8, "key size")
	valSize := work.Int("val-size", 8, "value size")
	keySpace := work.Uint64("key-space", 1, "key space")
	consistency := work.String("consistency", "l", "l or s")
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
			fmt.Fprintln(os.Stderr, "etcd-bench:", err)
			os.Exit(1)
		}
		cs = append(cs, cli)
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
	var all []time.Duration
	for _, l := range latencies {
		all = append(all, l...)
	}
	sort.Slice(all, func(a, b int) bool { return all[a] < all[b] })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	at := func(q float64) time.Duration {
		if len(all) == 0 {
			return 0
		}
		return all[int(q*float64(len(all)-1))]
	}
	var sum time.Duration
	for _, d := range all {
		sum += d
	}
	fmt.Println("Summary:")
	fmt.Printf("  Total:\t%.4f secs.\n", elapsed)
	fmt.Printf("  Requests:\t%d ok, %d failed\n", len(all), failed)
	fmt.Printf("  Requests/sec:\t%.1f\n", float64(len(all))/elapsed)
	fmt.Println("Latency (ms):")
	if len(all) > 0 {
		fmt.Printf("  fastest %.3f  average %.3f  slowest %.3f\n", ms(all[0]), ms(sum/time.Duration(len(all))), ms(all[len(all)-1]))
	}
	for _, q := range []float64{50, 90, 99, 99.9} {
		fmt.Printf("  %v%% in %.3f ms\n", q, ms(at(q/100)))
	}
}
