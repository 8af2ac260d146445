"""fareplan: delivery fare quotes for Fleetline's dispatch desk."""
__version__ = "1.8.2"
