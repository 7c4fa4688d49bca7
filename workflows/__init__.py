"""One viewflow Flow per visit scenario, the policies that steer them, the reception queue."""
