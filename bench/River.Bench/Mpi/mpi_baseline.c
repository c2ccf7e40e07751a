/* Open MPI baselines for River.Bench's mpi-* scenarios: the same workloads as River.Mpi's side.
 * Usage: mpi_baseline pingpong BYTES TRIPS REPS | bandwidth BYTES COUNT REPS (COUNT a multiple of 64) | allreduce CALLS REPS
 * Prints one number per timed rep: µs per round trip, MB/s, or µs per allreduce. Before them, warm-up reps as River.Mpi's
 * side does them (MpiBench.Reps): at least WARMUP reps and WARMUP_SECONDS (next_rep). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { WARMUP = 3 };
#define WARMUP_SECONDS 6.0

/* The rep after REP: -1 (another warm-up rep) until WARMUP reps and WARMUP_SECONDS since START have both passed by rank 0's
 * clock, which decides for all; then the timed reps 0, 1, ... */
static int next_rep(int rep, int *warmed, double start) {
    if (rep >= 0) return rep + 1;
    int more = ++*warmed < WARMUP || MPI_Wtime() - start < WARMUP_SECONDS;
    MPI_Bcast(&more, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return more ? -1 : 0;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "pingpong") == 0) {
        int bytes = atoi(argv[2]), trips = atoi(argv[3]), reps = atoi(argv[4]);
        char *buf = calloc(bytes, 1);
        double warm_start = MPI_Wtime();
        int warmed = 0;
        for (int rep = -1; rep < reps; rep = next_rep(rep, &warmed, warm_start)) {
            MPI_Barrier(MPI_COMM_WORLD);
            double start = MPI_Wtime();
            for (int i = 0; i < trips; i++) {
                if (rank == 0) {
                    MPI_Send(buf, bytes, MPI_BYTE, 1, 0, MPI_COMM_WORLD);
                    MPI_Recv(buf, bytes, MPI_BYTE, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                } else if (rank == 1) {
                    MPI_Recv(buf, bytes, MPI_BYTE, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                    MPI_Send(buf, bytes, MPI_BYTE, 0, 0, MPI_COMM_WORLD);
                }
            }
            if (rank == 0 && rep >= 0) printf("%f\n", (MPI_Wtime() - start) * 1e6 / trips);
        }
        free(buf);
    } else if (strcmp(mode, "bandwidth") == 0) {
        /* osu_bw's shape: windows of WINDOW non-blocking sends and receives (all into one buffer), an ack per window. */
        enum { WINDOW = 64 };
        int bytes = atoi(argv[2]), count = atoi(argv[3]), reps = atoi(argv[4]);
        char *buf = calloc(bytes, 1);
        MPI_Request requests[WINDOW];
        double warm_start = MPI_Wtime();
        int warmed = 0;
        for (int rep = -1; rep < reps; rep = next_rep(rep, &warmed, warm_start)) {
            MPI_Barrier(MPI_COMM_WORLD);
            double start = MPI_Wtime();
            for (int sent = 0; sent < count; sent += WINDOW) {
                for (int j = 0; j < WINDOW; j++) {
                    if (rank == 0) MPI_Isend(buf, bytes, MPI_BYTE, 1, 0, MPI_COMM_WORLD, &requests[j]);
                    else MPI_Irecv(buf, bytes, MPI_BYTE, 0, 0, MPI_COMM_WORLD, &requests[j]);
                }
                MPI_Waitall(WINDOW, requests, MPI_STATUSES_IGNORE);
                if (rank == 1) MPI_Send(buf, 1, MPI_BYTE, 0, 1, MPI_COMM_WORLD);
                else MPI_Recv(buf, 1, MPI_BYTE, 1, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            }
            if (rank == 0 && rep >= 0) printf("%f\n", (double)bytes * count / (MPI_Wtime() - start) / 1e6);
        }
        free(buf);
    } else if (strcmp(mode, "allreduce") == 0) {
        int calls = atoi(argv[2]), reps = atoi(argv[3]);
        double in = rank, out = 0;
        double warm_start = MPI_Wtime();
        int warmed = 0;
        for (int rep = -1; rep < reps; rep = next_rep(rep, &warmed, warm_start)) {
            MPI_Barrier(MPI_COMM_WORLD);
            double start = MPI_Wtime();
            for (int i = 0; i < calls; i++) MPI_Allreduce(&in, &out, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
            double seconds = MPI_Wtime() - start;
            if (rank == 0 && rep >= 0) printf("%f\n", seconds * 1e6 / calls);
        }
    } else if (rank == 0) {
        fprintf(stderr, "usage: mpi_baseline pingpong|bandwidth BYTES COUNT REPS | allreduce CALLS REPS\n");
    }
    MPI_Finalize();
    return 0;
}
