"""Sample-quality metrics for generative models of MNIST: a self-trained feature classifier, FID/KID in its
feature space, and class statistics (coverage, KL to uniform, inception score) of generated digits."""
