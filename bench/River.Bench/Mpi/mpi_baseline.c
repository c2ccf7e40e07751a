/* Open MPI baselines for River.Bench's mpi-* scenarios: the same workloads as River.Mpi's side.
 * Usage: mpi_baseline pingpong BYTES TRIPS REPS | bandwidth BYTES COUNT REPS (COUNT a multiple of 64) | allreduce CALLS REPS
 * Prints one number per timed rep: µs per round trip, MB/s, or µs per allreduce. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "pingpong") == 0) {
        int bytes = atoi(argv[2]), trips = atoi(argv[3]), reps = atoi(argv[4]);
        char *buf = calloc(bytes, 1);
        for (int rep = -1; rep < reps; rep++) { /* rep -1 warms up */
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
        for (int rep = -1; rep < reps; rep++) {
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
        for (int rep = -1; rep < reps; rep++) {
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
