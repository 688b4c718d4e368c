"""History of generated images (Shrivastava et al. 2017), as CycleGAN feeds its discriminators: the
discriminator also sees older fakes, which damps the oscillation between generator and discriminator."""

from __future__ import annotations

import torch


class ImagePool:
    """Up to ``size`` past images. ``query`` works per image: while the pool is not full the image is stored and
    returned; once full, with probability 0.5 a random stored image is returned and replaced by the new one,
    otherwise the new image is returned. ``size=0`` returns the inputs. Draws come from ``generator``, so a
    seeded generator makes the pool reproducible, and its state travels with the contents in ``state_dict``."""

    def __init__(self, size: int, generator: torch.Generator | None = None):
        if size < 0:
            raise ValueError(f"pool size must be >= 0, got {size}")
        self.size = size
        self.generator = generator if generator is not None else torch.Generator()
        self.images: list[torch.Tensor] = []

    def __len__(self) -> int:
        return len(self.images)

    @torch.no_grad()
    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:  # no history, but D still trains on detached fakes
            return images.detach()
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand((), generator=self.generator).item() < 0.5:
                slot = int(torch.randint(self.size, (), generator=self.generator))
                out.append(self.images[slot].to(image.device))
                self.images[slot] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)

    def state_dict(self) -> dict[str, torch.Tensor]:
        images = torch.stack([im.cpu() for im in self.images]) if self.images else torch.empty(0)
        return {"images": images, "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        if len(state["images"]) > self.size:
            raise ValueError(f"saved pool holds {len(state['images'])} images, more than its size {self.size}")
        self.images = list(state["images"].unbind(0)) if state["images"].numel() else []
        self.generator.set_state(state["generator"])
