"""Machine work as Dramatiq jobs: the runner framework (runner.py), the actors (actors.py), result
writers (writers.py), broker middleware (middleware.py) and worker liveness (liveness.py).

The broker itself is set up in trackroom/broker.py; starting, cancelling and recovering jobs are
services in labeling/services/job_runs.py.
"""
