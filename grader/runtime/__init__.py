"""Running student code: the sandbox, the preloaded zygote, the executor and the recording shell."""
