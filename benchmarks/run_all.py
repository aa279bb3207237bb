"""Run every benchmark (`make bench`); each writes its section of benchmarks/RESULTS.md."""

from . import bench_app, bench_core, bench_load, bench_pipelines, bench_views, bench_xlm_roberta

if __name__ == "__main__":
    bench_core.main()
    bench_pipelines.main([])
    bench_xlm_roberta.main([])
    bench_views.main(["--write"])
    bench_load.main()
    bench_app.main()
