"""Images: rendered previews, slice stacks, voxels, reformatting, mosaics, ETags."""
