"""The answer layer: evidence picked from the sources, answerability, citations checked by code."""
