"""Review: the queue people work through, the actions they take, and what the review screens show."""
